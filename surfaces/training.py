"""Training the page's small networks: the data split and ``fit``, which is
``surfaces.network.train`` plus what the network page needs and the engine does not offer yet:
the parameters at chosen epochs (for the decision boundary over epochs, evaluated on a grid in
the same jitted call) and a learning-rate schedule.  Calling ``train`` epoch-chunk by chunk
would not do: each call starts a new optimizer state (Adam's v, s and t, momentum's v), so
every chunk would restart the rule.  tests/test_network_training.py checks that ``fit``
reproduces ``train`` (same key: same mini-batches, same updates); once ``train`` takes
``snapshot_every`` and a schedule, ``fit`` is a thin call to it."""

from __future__ import annotations

import time
from collections import OrderedDict
from functools import partial
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optim.rules import Optimizer, full_hp, get_optimizer
from optim.runner import batch_plan, reusing
from optim.schedules import Schedule, full_schedule_params, get_schedule
from surfaces import network as N

tmap = jax.tree.map

GRID = 48  # the decision boundary is evaluated on GRID × GRID points
MAX_SNAPSHOTS = 20
MAX_PATH_POINTS = 400


# --- data ---------------------------------------------------------------------------------------


class Data(NamedTuple):
    """A seeded split and the grid the decision boundary is drawn on: ``gx`` (G,), ``gy`` (G,)
    the grid's axes, ``grid`` (G², 2) its points row by row (y outer, x inner)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    k: int
    gx: np.ndarray
    gy: np.ndarray
    grid: np.ndarray


def make_data(name: str, m: int, noise: float, seed: int, n_classes: int = 2, test_fraction: float = 0.25,
              n_grid: int = GRID) -> Data:
    """``make_dataset`` + ``train_test_split`` (both seeded by ``seed``) and a square grid over
    every point, 10 % wider than their range."""
    X, y = N.make_dataset(name, m, noise, seed, n_classes)
    s = N.train_test_split(X, y, test_fraction, seed)
    lo, hi = X.min(0), X.max(0)
    centre, half = (lo + hi) / 2, 0.55 * float(np.max(hi - lo)) + 0.05
    gx = np.linspace(centre[0] - half, centre[0] + half, n_grid, dtype=np.float32)
    gy = np.linspace(centre[1] - half, centre[1] + half, n_grid, dtype=np.float32)
    xx, yy = np.meshgrid(gx, gy)
    return Data(*s, int(n_classes), gx, gy, np.stack([xx.ravel(), yy.ravel()], 1))


# Rules that are their own schedule: the network page runs them at a constant α, whatever schedule
# it applies to the others (schedule-free AdamW's average of its iterates does the decay's work).
OWN_SCHEDULE = frozenset({"schedule_free"})


def schedule_of(optimizer: str, schedule: str, schedule_params):
    """(schedule, its parameters) a run of ``optimizer`` uses when the page's schedule is
    ``schedule``: constant for the rules of ``OWN_SCHEDULE`` (no parameters, of the kind given: a
    dict, or the page's tuple of items), the page's for every other."""
    return ("constant", type(schedule_params)()) if optimizer in OWN_SCHEDULE else (schedule, schedule_params)


def default_init(activation: str) -> str:
    """The course's pairing: He for the ReLU family, Xavier (Glorot) for tanh and the sigmoid."""
    return "xavier" if activation in ("tanh", "sigmoid") else "he"


# --- training with snapshots ----------------------------------------------------------------------


class Fit(NamedTuple):
    """A run.  Per epoch, index 0 before training: ``train_loss``, ``train_acc``, ``test_loss``,
    ``test_acc`` (epochs + 1,), the data loss without λ‖W‖² (as ``TrainResult``).
    ``snap_epochs`` (n,) the epochs of the snapshots, 0 and the last included; ``snapshots``
    the parameters then (a pytree with a leading axis n); ``classes`` (n, G²) int8 the class
    the network predicts at each grid point then; ``lr`` (epochs,) the learning rate of each
    epoch's first update; ``diverged_step`` the update t that met a non-finite gradient or
    produced non-finite weights (−1 if none), ``diverged_epoch`` its epoch (1-based, −1 if
    none): from there everything stays frozen.  With ``path_points`` > 0 (``fit``): ``path_steps``
    (n,) update counts 0, k, 2k, …, and the last update; ``path`` the parameters after them (a
    pytree with a leading axis n): the trajectory every k updates, for the loss landscape.
    ``last_update``: the change of the parameters at the last update made (a pytree like them;
    zeros before any), what one step of the rule does to each layer (``update_singular_values``)."""

    train_loss: Any
    train_acc: Any
    test_loss: Any
    test_acc: Any
    snap_epochs: Any
    snapshots: Any
    classes: Any
    lr: Any
    diverged_step: Any
    diverged_epoch: Any
    path_steps: Any = None
    path: Any = None
    last_update: Any = None

    @property
    def params(self):
        """The parameters at the end of training."""
        return tmap(lambda s: s[-1], self.snapshots)


def snapshot_epochs(epochs: int, n: int = MAX_SNAPSHOTS) -> tuple[int, ...]:
    """At most ``n`` + 1 epochs evenly spread over 0 … epochs, both ends included."""
    return tuple(int(e) for e in np.unique(np.round(np.linspace(0, epochs, min(n, epochs) + 1))))


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


_FIT_STATIC = ("opt", "sched", "activation", "loss", "path_points")
# Epochs are a traced count inside a fixed-length loop (the epochs past it are skipped by a
# cond and cost nothing): moving the epochs slider does not compile a new program.
EPOCH_BUCKETS = (500,)


def epoch_bucket(epochs: int) -> int:
    """The loop length a run of ``epochs`` epochs is compiled for."""
    return next((b for b in EPOCH_BUCKETS if b >= epochs), int(epochs))


@partial(jax.jit, static_argnames=("m", "batch_size", "epochs"))
def _plan(key, m, batch_size, epochs):
    """``batch_plan`` as (epochs, n_batches, b) arrays: compiled apart (its shuffles take as long
    to compile as a whole training loop) and shared by every optimizer.  Epoch e's batches do
    not depend on the number of epochs planned (each epoch folds e into the key)."""
    idx, mask = batch_plan(key, m, batch_size, epochs)
    return idx.reshape(epochs, -1, idx.shape[1]), mask.reshape(epochs, -1, idx.shape[1])


def _slots(epochs: int, bucket: int, n: int) -> np.ndarray:
    """Per epoch 0 … bucket, the index of its snapshot among ``snapshot_epochs(epochs, n)``, or −1."""
    slot = np.full(bucket + 1, -1, np.int32)
    snaps = snapshot_epochs(epochs, n)
    slot[list(snaps)] = np.arange(len(snaps))
    return slot


@partial(jax.jit, static_argnames=_FIT_STATIC)
def _fit(opt: Optimizer, sched: Schedule, activation, loss,
         params, hp, sp, lam, idx, mask, n_epochs, slot, X, y, X_test, y_test, grid, path_points=0, every=None):
    m, n_snaps = X.shape[0], MAX_SNAPSHOTS + 1
    spec = N.get_loss(loss)
    X_eval, y_eval = jnp.concatenate([X, X_test]), jnp.concatenate([y, y_test])

    def evaluate(p):
        out = N.forward(p, X_eval, activation, None, train=False).out
        losses, hits = spec.fn(out, spec.target(y_eval, out.shape[1])), spec.predict(out) == y_eval
        return jnp.mean(losses[:m]), jnp.mean(hits[:m]), jnp.mean(losses[m:]), jnp.mean(hits[m:])

    def step(carry, batch):
        p, st, t, div_t, last = carry
        b_idx, b_mask = batch
        Xb, yb = X[b_idx], y[b_idx]

        def obj(q):
            return N.objective(q, Xb, yb, activation, loss, lam, None, train=True, mask=b_mask)[0]

        g = jax.grad(obj)(p)
        lr = sched(t - 1, hp["lr"], sp)  # t − 1 updates made before this one
        p_new, st_new = opt.step(reusing(g, p, jax.grad(obj)), p, st, {**hp, "lr": lr})
        alive = div_t < 0
        failed = ~(_all_finite(g) & _all_finite(p_new))
        take = alive & ~failed
        p_out = tmap(lambda a, b: jnp.where(take, a, b), p_new, p)
        st_out = tmap(lambda a, b: jnp.where(take, a, b), st_new, st)
        last = tmap(lambda a, b, d: jnp.where(take, a - b, d), p_new, p, last)
        div_t = jnp.where(alive & failed, t, div_t)
        return (p_out, st_out, t + 1, div_t, last), lr

    def step_and_record(carry, batch):
        """A step, then the parameters into slot t / k of the path when k divides t (the update count)."""
        inner, path = carry
        inner, lr = step(inner, batch)
        t = inner[2] - 1
        j = jnp.minimum(t // every, path_points)
        keep = (t % every == 0) & (t // every <= path_points)
        path = tmap(lambda s, x: s.at[j].set(jnp.where(keep, x, s[j])), path, inner[0])
        return (inner, path), lr

    def train_epoch(carry, batches):
        inner, snapshots, e, path = carry
        if path_points:
            (inner, path), lrs = jax.lax.scan(step_and_record, (inner, path), batches)
        else:
            inner, lrs = jax.lax.scan(step, inner, batches)
        j = slot[e]
        jj = jnp.maximum(j, 0)
        snapshots = tmap(lambda s, x: s.at[jj].set(jnp.where(j >= 0, x, s[jj])), snapshots, inner[0])
        return (inner, snapshots, e + 1, path), (evaluate(inner[0]), lrs[0])

    def epoch(carry, batches):
        skip = lambda c, _: (c, (tuple(jnp.zeros((), jnp.float32) for _ in range(4)), jnp.zeros((), jnp.float32)))
        return jax.lax.cond(carry[2] <= n_epochs, train_epoch, skip, carry, batches)

    snapshots = tmap(lambda x: jnp.broadcast_to(x, (n_snaps,) + x.shape), params)
    path = tmap(lambda x: jnp.broadcast_to(x, (path_points + 1,) + x.shape), params) if path_points else None
    minus1 = jnp.array(-1, jnp.int32)
    inner0 = (params, opt.init(params), jnp.array(1, jnp.int32), minus1, tmap(jnp.zeros_like, params))
    carry0 = (inner0, snapshots, jnp.array(1, jnp.int32), path)
    ((_, _, _, div_t, last), snapshots, _, path), (evals, lrs) = jax.lax.scan(epoch, carry0, (idx, mask))
    evals = tmap(lambda a, b: jnp.concatenate([a[None], b]), evaluate(params), evals)
    classes = jax.vmap(lambda p: spec.predict(N.forward(p, grid, activation, None, train=False).out))(snapshots)
    div_e = jnp.where(div_t < 0, -1, (div_t - 1) // idx.shape[1] + 1)
    out = evals, snapshots, classes.astype(jnp.int8), lrs, div_t, div_e, last
    return out + (path,) if path_points else out


def _arguments(params, data: Data, optimizer="adam", epochs=10, batch_size=32, hp=None, key=0, activation="relu",
               loss="cross_entropy", lam=0.0, schedule="constant", schedule_params=None, convention=None,
               snapshots=MAX_SNAPSHOTS, path_points=0) -> tuple[dict, dict, tuple[int, ...]]:
    """The static and the traced arguments of ``_fit`` (checked and converted as ``train``
    does), and the snapshot epochs.  ``path_points`` enters them only when > 0: the programs of
    the callers that do not ask for a path are unchanged."""
    opt = get_optimizer(optimizer).with_options(convention=convention, clip="none")
    sched = get_schedule(schedule)
    hp = {k: float(v) for k, v in full_hp(opt, hp or {}).items()}
    sp = {k: float(v) for k, v in full_schedule_params(sched, schedule_params).items()}
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    if not 1 <= snapshots <= MAX_SNAPSHOTS:
        raise ValueError(f"between 1 and {MAX_SNAPSHOTS} snapshots, not {snapshots}")
    if not 0 <= path_points <= MAX_PATH_POINTS:
        raise ValueError(f"between 0 and {MAX_PATH_POINTS} path points, not {path_points}")
    N.get_activation(activation)
    N.get_loss(loss)
    key = jax.random.key(key) if isinstance(key, (int, np.integer)) else key
    f32, i32 = (lambda a: jnp.asarray(a, jnp.float32)), (lambda a: jnp.asarray(a, jnp.int32))
    bucket = epoch_bucket(int(epochs))
    idx, mask = _plan(key, len(data.y_train), int(batch_size), bucket)
    static = dict(opt=opt, sched=sched, activation=activation, loss=loss)
    traced = dict(params=tmap(f32, params), hp=hp, sp=sp, lam=float(lam), idx=idx, mask=mask,
                  n_epochs=i32(epochs), slot=i32(_slots(int(epochs), bucket, snapshots)),
                  X=f32(data.X_train), y=i32(data.y_train), X_test=f32(data.X_test), y_test=i32(data.y_test),
                  grid=f32(data.grid))
    if path_points:
        static["path_points"] = int(path_points)
        traced["every"] = i32(path_every(int(epochs) * idx.shape[1], int(path_points)))
    return static, traced, snapshot_epochs(int(epochs), snapshots)


def path_every(updates: int, points: int) -> int:
    """k: the path keeps the parameters every k updates, at most ``points`` + 1 of them."""
    return max(1, -(-updates // points))


def path_steps(updates: int, k: int) -> np.ndarray:
    """The update counts a path kept every k updates holds: 0, k, 2k, … and the last update."""
    return np.unique(np.append(np.arange(0, updates + 1, k), updates)).astype(np.int32)


def _result(out, epochs: int, snaps: tuple[int, ...], traced: dict) -> Fit:
    """The program's outputs cut to the run's epochs and snapshots (and path)."""
    evals, snapshots, classes, lrs, div_t, div_e, last = out[:7]
    n = len(snaps)
    evals = [e[: epochs + 1] for e in evals]
    fit = Fit(*evals, jnp.asarray(snaps, jnp.int32), tmap(lambda s: s[:n], snapshots), classes[:n], lrs[:epochs],
              div_t, div_e, last_update=last)
    if len(out) == 7:
        return fit
    updates, k = epochs * traced["idx"].shape[1], int(traced["every"])
    steps = path_steps(updates, k)
    kept = updates // k + 1  # the slots the program filled; the last update is the last snapshot's
    path = tmap(lambda p, s: jnp.concatenate([p[:kept], s[-1:]]) if len(steps) > kept else p[:kept],
                out[7], fit.snapshots)
    return fit._replace(path_steps=jnp.asarray(steps), path=path)


def fit(params, data: Data, optimizer: str | Optimizer = "adam", epochs: int = 10, batch_size: int = 32,
        hp: Mapping[str, float] | None = None, key=0, activation: str = "relu", loss: str = "cross_entropy",
        lam: float = 0.0, schedule: str | Schedule = "constant", schedule_params: Mapping[str, float] | None = None,
        convention: str | None = None, snapshots: int = MAX_SNAPSHOTS, path_points: int = 0) -> Fit:
    """Train the MLP ``params`` on ``data`` as ``surfaces.network.train`` does (one jitted
    ``lax.scan``; mini-batches from ``optim.batch_plan``; J = mean loss + λ Σ‖W‖²; never raises
    on divergence), the learning rate of update t being ``schedule(t − 1, α, schedule_params)``,
    and keep the parameters at ``snapshot_epochs(epochs, snapshots)`` with the grid's classes.
    Static: the rule, schedule, activation, loss, batch size and the shapes; the number of epochs
    (up to its bucket), the snapshot epochs, hyperparameters, schedule parameters, λ, key and
    data are traced.  ``path_points`` > 0 (static; 0 by default: no path, the same program as
    without it) also keeps the trajectory: the parameters every k = ⌈updates / path_points⌉
    updates and after the last (``Fit.path``)."""
    static, traced, snaps = _arguments(params, data, optimizer, epochs, batch_size, hp, key, activation, loss, lam,
                                       schedule, schedule_params, convention, snapshots, path_points)
    return _result(_fit(**static, **traced), snaps[-1], snaps, traced)


_COMPILED: OrderedDict = OrderedDict()  # compiled programs by (static arguments, shapes): keyed by inputs
_MAX_COMPILED = 32


def _compiled(static: dict, traced: dict):
    """``_fit`` lowered and compiled for these static arguments and traced shapes, once."""
    leaves, tree = jax.tree.flatten(traced)
    key = (tuple(static.items()), tree, tuple((np.shape(x), jnp.result_type(x), isinstance(x, float)) for x in leaves))
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        return _COMPILED[key]
    program = _fit.lower(**static, **traced).compile()
    _COMPILED[key] = program
    while len(_COMPILED) > _MAX_COMPILED:
        _COMPILED.popitem(last=False)
    return program


def clear_compiled() -> None:
    """Forget the compiled programs (the memory bound drops them; they reload from disk)."""
    _COMPILED.clear()


def compiled_programs() -> int:
    """Programs ``timed_fit`` holds compiled (tests: a new epoch count must not add one)."""
    return len(_COMPILED)


def timed_fit(*args, **kwargs) -> tuple[Fit, float, float]:
    """``fit`` and its timings: (the run, seconds to trace and compile (0 when this
    configuration's program exists), seconds of training)."""
    static, traced, snaps = _arguments(*args, **kwargs)
    t0 = time.perf_counter()
    compiled = _compiled(static, traced)
    t1 = time.perf_counter()
    out = jax.block_until_ready(compiled(**traced))
    return _result(out, snaps[-1], snaps, traced), t1 - t0, time.perf_counter() - t1


def fit_cache_size() -> int:
    """Compiled programs of ``fit`` so far (tests: a new hyperparameter must not add one)."""
    return _fit._cache_size()



def update_singular_values(f: Fit) -> list[np.ndarray]:
    """Per layer, the singular values (largest first) of its weight matrix's last update ΔW
    (``Fit.last_update``): how evenly one step of the rule moves the directions of that matrix
    (Muon's orthogonalized steps: all alike; Adam's: spread)."""
    if f.last_update is None:
        return []
    return [np.linalg.svd(np.asarray(layer["W"], np.float64), compute_uv=False) for layer in f.last_update]


def as_record(f: Fit, compile_seconds: float = 0.0, seconds: float = 0.0) -> dict[str, Any]:
    """A run as NumPy arrays and numbers (what the page caches): the curves, the snapshot
    epochs and grid classes, the learning rates, the epoch of divergence (None), the singular
    values of each weight matrix's last update (``update_sv``) and the timings."""
    e = int(f.diverged_epoch)
    return {
        "update_sv": update_singular_values(f),
        "train_loss": np.asarray(f.train_loss, np.float32), "test_loss": np.asarray(f.test_loss, np.float32),
        "train_acc": np.asarray(f.train_acc, np.float32), "test_acc": np.asarray(f.test_acc, np.float32),
        "snap_epochs": np.asarray(f.snap_epochs, np.int32), "classes": np.asarray(f.classes, np.int8),
        "lr": np.asarray(f.lr, np.float32), "diverged_epoch": None if e < 0 else e,
        "compile_seconds": float(compile_seconds), "seconds": float(seconds),
    }
