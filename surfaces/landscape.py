"""The loss landscape of the small network around a solution, and the optimizers' paths on it
(Li et al., NeurIPS 2018, "Visualizing the Loss Landscape of Neural Nets").

A plane through the centre weights θ_c spanned by two directions d₁, d₂ (vectors of the size of
θ), and the loss on a grid over it: f(α, β) = L(θ_c + α d₁ + β d₂).  Two planes:

- **PCA** of the trajectories: the rows θ_i − θ_c of every optimizer's kept weights (all the
  parameters).  The plane drawn goes through θ_c, so the best plane is the SVD of those rows as
  they are (Li et al. call sklearn's PCA, which first subtracts their mean: the best plane
  through the mean of the path, not through the centre drawn); ``explained`` is the share of
  Σᵢ‖θ_i − θ_c‖² along each axis (σₖ² / Σ σ²), d₁, d₂ orthonormal.
- **Random, filter-normalized**: two Gaussian directions, each filter's slice rescaled to the
  norm of the weights it perturbs.  Here a filter is a unit's incoming weights, column j of
  ``W`` (n_in, n_out): d[:, j] := d[:, j] · ‖W[:, j]‖ / ‖d[:, j]‖.  Biases and batch-norm
  parameters (every one-dimensional leaf) get 0, as Li et al.'s ``ignore="biasbn"``.

A path projects onto the plane by least squares, a = argmin ‖θ − θ_c − [d₁ d₂] a‖ (the dot
products for orthonormal PCA axes); the *honest gap* along it is the real loss L(θ_i) against
the plane's loss f(a_i) at the projected point: where they differ, the picture lies.

Losses are the data losses of the network page (mean loss, no λ‖W‖²), in test mode, for a
network without batch norm.  The grid is one jitted call: ``vmap`` over a chunk of grid points,
``lax.map`` over the chunks (a chunk's activations bounded in memory)."""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from surfaces import network as N

tmap = jax.tree.map
PLANES = ("pca", "random")
CHUNK_FLOATS = 4_000_000  # activations of one chunk of grid points: chunk × examples × width floats


# --- the loss at given weights ----------------------------------------------------------------------


def data_loss(params, X, y, activation: str, loss: str):
    """(1/m) Σᵢ ℓ(ŷᵢ, yᵢ) in test mode: the network page's train and test losses (no λ‖W‖²)."""
    spec = N.get_loss(loss)
    out = N.forward(params, X, activation, None, train=False).out
    return jnp.mean(spec.fn(out, spec.target(y, out.shape[1])))


def _split_losses(params, X, y, m: int, activation: str, loss: str):
    """(train, test) losses from one forward pass over train and test examples stacked (test mode
    treats examples independently): ``m`` the number of training examples."""
    spec = N.get_loss(loss)
    out = N.forward(params, X, activation, None, train=False).out
    losses = spec.fn(out, spec.target(y, out.shape[1]))
    return jnp.mean(losses[:m]), jnp.mean(losses[m:])


@partial(jax.jit, static_argnames=("activation", "loss"))
def loss_at(params, X, y, activation: str, loss: str):
    """L(θ) on (X, y): one evaluation (the loop the grid is compared with, in tests and bench)."""
    return data_loss(params, X, y, activation, loss)


@partial(jax.jit, static_argnames=("activation", "loss"))
def _path_losses(path, X, y, activation, loss):
    return jax.vmap(lambda p: data_loss(p, X, y, activation, loss))(path)


def path_losses(path, X, y, activation: str, loss: str) -> np.ndarray:
    """L(θ_i) at every point of a path (a pytree with a leading axis n), (n,)."""
    path = tmap(lambda x: jnp.asarray(x, jnp.float32), path)
    return np.asarray(_path_losses(path, jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.int32), activation, loss),
                      np.float64)


def _at(centre, d1, d2, a, b):
    """θ_c + a d₁ + b d₂ (pytrees)."""
    return tmap(lambda c, u, v: c + a * u + b * v, centre, d1, d2)


def chunk_size(n_points: int, n_examples: int, width: int, floats: int = CHUNK_FLOATS) -> int:
    """Grid points per vmapped chunk: their activations (points × examples × width) stay under
    ``floats``, the chunks of equal size (the last one padded the least)."""
    most = int(np.clip(floats // max(n_examples * width, 1), 1, max(n_points, 1)))
    return -(-n_points // -(-n_points // most))


@partial(jax.jit, static_argnames=("m", "activation", "loss", "chunk"))
def _grid(centre, d1, d2, ab, X, y, m, activation, loss, chunk):
    def one(p):
        return _split_losses(_at(centre, d1, d2, p[0], p[1]), X, y, m, activation, loss)

    n = ab.shape[0]
    pad = -n % chunk
    ab = jnp.concatenate([ab, jnp.zeros((pad, 2), ab.dtype)]).reshape(-1, chunk, 2)
    tr, te = jax.lax.map(jax.vmap(one), ab)
    return tr.reshape(-1)[:n], te.reshape(-1)[:n]


def plane_losses(centre, d1, d2, ab, X_train, y_train, X_test, y_test, activation: str, loss: str,
                 chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train and test loss f(a, b) = L(θ_c + a d₁ + b d₂) at each row (a, b) of ``ab`` (n, 2):
    ``vmap`` over chunks of ``chunk`` points (``chunk_size`` by default).  ``centre``, ``d1``,
    ``d2``: pytrees like the network's parameters."""
    ab = jnp.asarray(ab, jnp.float32).reshape(-1, 2)
    X = jnp.concatenate([jnp.asarray(X_train, jnp.float32), jnp.asarray(X_test, jnp.float32)])
    y = jnp.concatenate([jnp.asarray(y_train, jnp.int32), jnp.asarray(y_test, jnp.int32)])
    width = max(int(np.shape(layer["W"])[1]) for layer in centre)
    chunk = chunk or chunk_size(ab.shape[0], X.shape[0], width)
    tr, te = _grid(centre, d1, d2, ab, X, y, len(y_train), activation, loss, int(chunk))
    return np.asarray(tr, np.float64), np.asarray(te, np.float64)


# --- planes -----------------------------------------------------------------------------------------


class Plane(NamedTuple):
    """θ_c + α d₁ + β d₂: ``centre``, ``d1``, ``d2`` flat (D,) float64; ``kind`` "pca" or "random";
    ``explained`` (2,) the share of Σ‖θ_i − θ_c‖² along each PCA axis (None for a random plane)."""

    centre: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    kind: str
    explained: np.ndarray | None


def flat(params) -> np.ndarray:
    """The parameters as one float64 vector (``ravel_pytree``'s order)."""
    return np.asarray(ravel_pytree(params)[0], np.float64)


def final(path):
    """The last point of a path (a pytree with a leading axis)."""
    return tmap(lambda x: x[-1], path)


def flat_path(path) -> np.ndarray:
    """A path (a pytree with a leading axis n) as rows (n, D)."""
    return np.asarray(jax.vmap(lambda p: ravel_pytree(p)[0])(path), np.float64)


def pca_plane(paths: Sequence[np.ndarray], centre: np.ndarray) -> Plane:
    """The plane through ``centre`` that keeps most of Σᵢ‖θ_i − θ_c‖² over every row of every
    path (rows (n, D)): the top two right singular vectors of the rows θ_i − θ_c (through the
    n × n Gram matrix: n ≪ D).  A path on a line gets a second axis orthogonal to it at random."""
    c = np.asarray(centre, np.float64)
    Xd = np.concatenate([np.asarray(p, np.float64) for p in paths]) - c
    w, U = np.linalg.eigh(Xd @ Xd.T)
    order = np.argsort(w)[::-1]
    w, U = np.clip(w[order], 0, None), U[:, order]
    total = float(w.sum())
    axes = []
    for k in range(min(2, len(w))):
        if w[k] > 1e-12 * max(total, 1e-300):
            v = Xd.T @ U[:, k]
            axes.append(v / np.linalg.norm(v))
    rng = np.random.default_rng(0)
    while len(axes) < 2:
        v = rng.standard_normal(c.shape)
        for a in axes:
            v -= (v @ a) * a
        axes.append(v / np.linalg.norm(v))
    explained = np.array([w[k] / total if total > 0 and k < len(w) else 0.0 for k in range(2)])
    return Plane(c, axes[0], axes[1], "pca", explained)


def filter_normalized(key, params) -> list[dict]:
    """A Gaussian direction like ``params``, each filter (column j of each ``W``: unit j's
    incoming weights) rescaled to that filter's norm in ``params``; every one-dimensional leaf
    (biases, γ, β) zero."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    out = []
    for k, w in zip(keys, leaves, strict=True):
        w = jnp.asarray(w, jnp.float32)
        if w.ndim <= 1:
            out.append(jnp.zeros_like(w))
            continue
        d = jax.random.normal(k, w.shape, jnp.float32)
        axes = tuple(range(w.ndim - 1))  # a filter: everything but the output unit's axis
        norm_w = jnp.sqrt(jnp.sum(w ** 2, axes, keepdims=True))
        norm_d = jnp.sqrt(jnp.sum(d ** 2, axes, keepdims=True))
        out.append(d * norm_w / (norm_d + 1e-10))
    return jax.tree.unflatten(tree, out)


def random_plane(params, seed: int = 0) -> Plane:
    """Two filter-normalized random directions at ``params`` (Li et al.'s plot of a minimum)."""
    k1, k2 = jax.random.split(jax.random.key(seed))
    return Plane(flat(params), flat(filter_normalized(k1, params)), flat(filter_normalized(k2, params)),
                 "random", None)


def project(plane: Plane, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (n, 2) of each row θ (n, D) on the plane, by least squares, and the distance
    ‖θ − θ_c − [d₁ d₂] a‖ of each row from the plane (n,)."""
    D = np.stack([plane.d1, plane.d2], 1)
    diff = np.asarray(rows, np.float64) - plane.centre
    a = np.linalg.solve(D.T @ D, D.T @ diff.T).T
    return a, np.linalg.norm(diff - a @ D.T, axis=1)


def kept_share(plane: Plane, rows: np.ndarray) -> float:
    """The share of Σᵢ‖θ_i − θ_c‖² the projection keeps, 1 − Σ off² / Σ ‖θ_i − θ_c‖² (1 when the
    rows lie in the plane; for orthonormal PCA axes, the sum of ``explained`` over all rows)."""
    diff = np.asarray(rows, np.float64) - plane.centre
    total = float(np.sum(diff ** 2))
    _, off = project(plane, rows)
    return 1.0 - float(np.sum(off ** 2)) / total if total > 0 else 1.0


# --- the whole picture ----------------------------------------------------------------------------


class Landscape(NamedTuple):
    """The plane's grid and the paths on it, as NumPy arrays.

    ``xs`` (G,), ``ys`` (G,) the grid's coordinates (α along d₁, β along d₂; 0 at the middle),
    ``train``, ``test`` (G, G) the losses there, ``[j, i]`` at (xs[i], ys[j]); ``explained``
    (2,) the PCA axes' shares (None on a random plane); per path: ``coords`` (n, 2) its
    projection, ``real`` (n,) its real train loss, ``on_plane`` (n,) the plane's train loss at
    the projected point, ``off`` (n,) its distance from the plane over its distance from the
    centre (0: on the plane), ``kept`` its share of Σ‖θ_i − θ_c‖² the plane keeps."""

    kind: str
    xs: np.ndarray
    ys: np.ndarray
    train: np.ndarray
    test: np.ndarray
    explained: np.ndarray | None
    coords: list
    real: list
    on_plane: list
    off: list
    kept: list


def half_widths(coords: Sequence[np.ndarray], span: float, floor: float = 0.1) -> tuple[float, float]:
    """The grid's half-widths on a PCA plane: ``span`` × the paths' largest |α| and |β|, each at
    least ``floor`` × the other (a path nearly on one axis still gets a picture around it)."""
    c = np.concatenate([np.asarray(p) for p in coords])
    a, b = (float(np.max(np.abs(c[:, i]))) for i in range(2))
    a, b = max(a, floor * b, 1e-6), max(b, floor * a, 1e-6)
    return span * a, span * b


def landscape(paths: Sequence[Any], centre: Any, X_train, y_train, X_test, y_test, activation: str, loss: str,
              plane: str = "pca", n: int = 31, span: float = 1.25, seed: int = 0) -> Landscape:
    """The loss landscape around ``centre`` (network parameters, e.g. one run's final weights)
    and each path (a pytree with a leading axis: the weights along a run) on it: the PCA plane
    of every path's θ_i − θ_c, or a random filter-normalized plane (``plane``); an n × n grid of
    half-widths ``half_widths`` (PCA) or ``span`` (random: in units of the directions)."""
    if plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}; choose one of {PLANES}")
    rows = [flat_path(p) for p in paths]
    c = flat(centre)
    P = pca_plane(rows, c) if plane == "pca" else random_plane(centre, seed)
    proj = [project(P, r) for r in rows]
    coords = [a for a, _ in proj]
    hx, hy = half_widths(coords, span) if plane == "pca" else (span, span)
    xs = np.linspace(-hx, hx, n)
    ys = np.linspace(-hy, hy, n)
    unravel = ravel_pytree(centre)[1]
    d1, d2 = unravel(jnp.asarray(P.d1, jnp.float32)), unravel(jnp.asarray(P.d2, jnp.float32))
    cp = tmap(lambda x: jnp.asarray(x, jnp.float32), centre)
    gx, gy = np.meshgrid(xs, ys)
    data = (X_train, y_train, X_test, y_test, activation, loss)
    tr, te = plane_losses(cp, d1, d2, np.stack([gx.ravel(), gy.ravel()], 1), *data)
    # the paths' projected points, and their real weights (the plane through them at 0, 0: θ itself)
    on_plane = [plane_losses(cp, d1, d2, a, *data)[0] for a in coords]
    real = [path_losses(p, X_train, y_train, activation, loss) for p in paths]
    off = []
    for r, (_, dist) in zip(rows, proj, strict=True):
        radius = np.linalg.norm(r - c, axis=1)
        off.append(np.where(radius > 0, dist / np.where(radius > 0, radius, 1.0), 0.0))
    return Landscape(plane, xs, ys, tr.reshape(n, n), te.reshape(n, n), P.explained, coords, real, on_plane, off,
                     [kept_share(P, r) for r in rows])


@partial(jax.jit, static_argnames=("activation", "loss"))
def _sharpness(params, dirs, alphas, X, y, activation, loss):
    def rise(d, a):
        return data_loss(tmap(lambda p, u: p + a * u, params, d), X, y, activation, loss)

    return jax.vmap(lambda d: jax.vmap(lambda a: rise(d, a))(alphas))(dirs)


def sharpness(params, X, y, activation: str, loss: str, alpha: float = 0.25, n_dirs: int = 16,
              seed: int = 0) -> float:
    """How sharp the minimum ``params`` is, as Li et al. compare minima: the mean rise of the loss,
    L(θ + α d) − L(θ), over ``n_dirs`` random filter-normalized directions d (a step α = 0.25
    moves every filter by a quarter of its own norm, whatever the weights' scale)."""
    keys = jax.random.split(jax.random.key(seed), n_dirs)
    dirs = jax.vmap(lambda k: filter_normalized(k, params))(keys)
    p = tmap(lambda x: jnp.asarray(x, jnp.float32), params)
    X, y = jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.int32)
    v = _sharpness(p, dirs, jnp.asarray([0.0, alpha], jnp.float32), X, y, activation, loss)
    return float(jnp.mean(v[:, 1] - v[:, 0]))


# --- what the page keeps of a run, and of a path on the plane ---------------------------------------

SHARP_ALPHA = 0.25


def path_record(fit, X, y, activation: str, loss: str) -> dict[str, Any]:
    """A run with its path (``surfaces.training.fit(..., path_points=…)``) as the page caches it:
    ``as_record``'s curves, ``path_steps`` and ``path`` (NumPy leaves) and the ``sharpness`` of
    its final weights on (X, y) (α = ``SHARP_ALPHA``)."""
    from surfaces.training import as_record

    rec = as_record(fit)
    rec["path_steps"] = np.asarray(fit.path_steps, np.int32)
    rec["path"] = tmap(lambda x: np.asarray(x, np.float32), fit.path)
    rec["sharpness"] = sharpness(fit.params, X, y, activation, loss, SHARP_ALPHA)
    return rec


def path_summary(ls: Landscape, i: int) -> dict[str, float]:
    """Path ``i`` on the plane: ``travel`` the distance from its start to its end on the plane,
    ``kept`` its share of Σ‖θ − θ_c‖² the plane keeps, the honest gap |L(θ) − f(a)| at most
    (``gap_max``), on average (``gap_mean``) and at its start (``gap_start``)."""
    c, gap = ls.coords[i], np.abs(ls.real[i] - ls.on_plane[i])
    return dict(travel=float(np.linalg.norm(c[-1] - c[0])), kept=float(ls.kept[i]), gap_max=float(gap.max()),
                gap_mean=float(gap.mean()), gap_start=float(gap[0]))
