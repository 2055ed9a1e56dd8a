"""What a trajectory achieved: final loss, steps to a tolerance, path length, where it left
the domain, where it settled, why it diverged.  NumPy in, NumPy out (these run after the
jitted run, on its arrays); the curvature measures differentiate the loss with JAX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def path_length(path: np.ndarray) -> float:
    """Σ ‖x_{k+1} − x_k‖ over the finite part of the path."""
    p = np.asarray(path, np.float64)
    p = p[np.all(np.isfinite(p), axis=1)]
    return float(np.sum(np.linalg.norm(np.diff(p, axis=0), axis=1))) if len(p) > 1 else 0.0


def steps_to_tolerance(loss: np.ndarray, target: float) -> int | None:
    """The first step k with loss[k] ≤ target, or None."""
    hit = np.flatnonzero(np.asarray(loss) <= target)
    return int(hit[0]) if hit.size else None


def distance_to_minima(path: np.ndarray, minima) -> np.ndarray:
    """Distance of each point of the path to the nearest listed minimum (NaN if there is none)."""
    p = np.asarray(path, np.float64)
    if not len(minima):
        return np.full(len(p), np.nan)
    m = np.asarray(minima, np.float64)
    return np.min(np.linalg.norm(p[:, None, :] - m[None, :, :], axis=2), axis=1)


def left_domain_at(path: np.ndarray, domain) -> int | None:
    """The first step whose point lies outside the domain (by more than half its width)."""
    (x0, x1), (y0, y1) = domain
    wx, wy = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
    p = np.asarray(path)
    with np.errstate(invalid="ignore"):
        out = (p[:, 0] < x0 - wx) | (p[:, 0] > x1 + wx) | (p[:, 1] < y0 - wy) | (p[:, 1] > y1 + wy)
    hit = np.flatnonzero(out)
    return int(hit[0]) if hit.size else None


def settled_loss(loss, diverged_at: int | None = None, frac: float = 0.1) -> float:
    """The mean of the loss over the last ``frac`` of the steps: where a run has settled (or
    keeps bouncing).  Infinite for a run that diverged."""
    if diverged_at is not None:
        return float("inf")
    loss = np.asarray(loss, np.float64)
    w = max(1, int(round(frac * (len(loss) - 1))))
    return float(np.mean(loss[-w:]))


def window_mean(loss, start: int, stop: int) -> float:
    """The mean of ``loss[start:stop]`` (``start`` clipped at 0)."""
    return float(np.mean(np.asarray(loss, np.float64)[max(start, 0):stop]))


def drops(lr) -> np.ndarray:
    """The steps t at which the rate falls below the previous step's (step decay's drops)."""
    lr = np.asarray(lr, np.float64)
    return np.flatnonzero(lr[1:] < lr[:-1] * (1 - 1e-6)) + 1


def gd_stability_limit(f: Callable, point) -> float:
    """2 / λ_max of the Hessian of f at ``point``: plain GD with a larger α diverges there."""
    h = jax.hessian(f)(jnp.asarray(point, jnp.float32))
    lam = float(jnp.max(jnp.linalg.eigvalsh(h)))
    return 2.0 / lam if lam > 0 else float("inf")


def curvature_along(f: Callable, point, direction) -> float:
    """uᵀ∇²f(x) u at x = ``point`` for the unit vector u along ``direction``: the second derivative
    of f along that line (a Hessian-vector product, no Hessian formed; u is normalized first, so
    that a step of 10³⁰ does not overflow it).  NaN when it is not finite there or the direction is 0."""
    d = np.asarray(direction, np.float64)
    norm = float(np.linalg.norm(d))
    if not (np.isfinite(norm) and norm > 0):
        return float("nan")
    u = jnp.asarray(d / norm, jnp.float32)
    _, hu = jax.jvp(jax.grad(f), (jnp.asarray(point, jnp.float32),), (u,))
    c = float(jnp.vdot(u, hu))
    return c if np.isfinite(c) else float("nan")


# --- why a run diverged -------------------------------------------------------------------------------

RUN_OF = 3  # consecutive steps of rising (or falling) loss that name a divergence's cause


class Diagnosis(NamedTuple):
    """Why a run stopped: ``cause`` is ``"start"`` (the loss or its gradient is not finite at the
    start), ``"unbounded"`` (the surface has no minimum in the direction the run took), ``"lr"``
    (the learning rate is too large for the curvature) or ``"overflow"`` (none of those could
    be told); ``message`` says it with the measured numbers."""

    cause: str
    message: str


def _run_at_end(h: np.ndarray, idx: np.ndarray, sign: int) -> int:
    """How many of the last steps of the loss history ``h`` (at steps ``idx``) moved it in
    direction ``sign`` (+1 up, −1 down) in a row; only steps one apart count."""
    k = 0
    while k + 1 < len(h) and idx[-1 - k] - idx[-2 - k] == 1 and sign * (h[-1 - k] - h[-2 - k]) > 0:
        k += 1
    return k


def _curvature_on_path(f: Callable, p: np.ndarray, i: int, step: int) -> float:
    """The curvature of f at ``p[i]`` along the step from it, moving by ``step`` (+1 forward,
    −1 back) while it is not finite (far out, the Hessian-vector product may overflow)."""
    while 0 <= i < len(p) - 1:
        c = curvature_along(f, p[i], p[i + 1] - p[i])
        if np.isfinite(c):
            return c
        i += step
    return float("nan")


def _value(f: Callable, x) -> float:
    return float(f(jnp.asarray(x, jnp.float32)))


def _finite_prefix(f: Callable, p: np.ndarray) -> int:
    """The number of leading points of the path ``p`` where f is finite, by bisection: once a
    diverging run's loss overflows it stays so (its parameters only grow), often long before the
    parameters themselves overflow."""
    if np.isfinite(_value(f, p[-1])):
        return len(p)
    lo, hi = 0, len(p) - 1  # f(p[lo]) is finite or lo = 0; f(p[hi]) is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if np.isfinite(_value(f, p[mid])) else (lo, mid)
    return hi if np.isfinite(_value(f, p[lo])) else 0


def _fmt_point(x) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in np.ravel(x)) + ")"


def diagnose_divergence(loss, params, diverged_at: int | None, loss_fn: Callable | None = None
                        ) -> Diagnosis | None:
    """Why a run diverged at step ``diverged_at`` (None: it did not).

    ``params`` (steps + 1, …) and ``loss`` (steps + 1,) are the run's; from ``diverged_at`` on
    they are frozen, so the history is ``[:diverged_at]``.  ``loss`` may be None when it was
    not recorded: ``loss_fn`` is then evaluated at the start and on the last steps.  With
    ``loss_fn``, the gradient at the start and the curvature along the path are measured too.
    In order:

    - ``start``: f(x₀) (or its gradient) is not finite: no step could be taken from there;
    - ``unbounded``: the loss ended below where it started and fell over its last ``RUN_OF``
      steps (all of them, if fewer), or at most of its last 2·``RUN_OF``, or the curvature along
      the path is negative: the run was going downhill when the numbers overflowed, so there is
      no minimum that way;
    - ``lr``: the loss ended above where it started and rose over its last ``RUN_OF`` steps (or at
      most of its last 2·``RUN_OF``: SGD's loss zig-zags on its way up), and the curvature along
      the path where it began to rise is positive (or could not be measured): each step overshot
      the bottom of a valley by more than it started from, GD's picture of α > 2/λ;
    - ``overflow``: neither pattern (e.g. noise, or a loss that jumps)."""
    if diverged_at is None:
        return None
    p = np.asarray(params, np.float64)[: max(int(diverged_at), 1)]
    if loss is None:  # the start and the last steps before the blow-up are all the diagnosis reads
        end = _finite_prefix(loss_fn, p)
        idx = np.unique(np.r_[0, np.arange(max(0, end - 2 * RUN_OF - 1), max(end, 1))])
        h = np.array([_value(loss_fn, p[i]) for i in idx])
    else:
        idx, h = np.arange(len(p)), np.asarray(loss, np.float64)[: len(p)]
    grad0_ok = loss_fn is None or bool(np.all(np.isfinite(np.asarray(jax.grad(loss_fn)(jnp.asarray(p[0],
                                                                                                  jnp.float32))))))
    if not np.all(np.isfinite(p[0])) or not np.isfinite(h[0]) or not grad0_ok:
        what = "loss" if not np.isfinite(h[0]) else "gradient"
        return Diagnosis("start", f"the {what} is not finite at the start {_fmt_point(p[0])} (f = {h[0]:.3g}): "
                                  "no step can be taken from there; move the start or change the formula")
    if not np.all(np.isfinite(h)):  # the loss can overflow before the parameters do: stop where it did
        cut = int(np.argmin(np.isfinite(h)))
        idx, h = idx[:cut], h[:cut]
        p = p[: idx[-1] + 1]
    n = len(p) - 1
    if n < 1:
        return Diagnosis("overflow", f"the first step overflowed from {_fmt_point(p[0])} (f = {h[0]:.3g})")
    need = min(RUN_OF, n)
    falls, rises = _run_at_end(h, idx, -1), _run_at_end(h, idx, +1)
    # the trend over the last steps (SGD's loss zig-zags on its way up or down)
    recent = np.diff(h[-min(2 * RUN_OF, len(h) - 1) - 1:])
    ups, downs = int(np.sum(recent > 0)), int(np.sum(recent < 0))
    known = loss_fn is not None
    end_curv = _curvature_on_path(loss_fn, p, n - 1, -1) if known else float("nan")
    if h[-1] < h[0] and (falls >= need or 2 * downs > len(recent) or end_curv < 0):
        return Diagnosis("unbounded", f"the surface has no minimum in that direction: f fell from {h[0]:.3g} to "
                                      f"{h[-1]:.3g} as the parameters ran off toward {_fmt_point(p[-1])}")
    in_a_row = rises >= need
    began = int(idx[-1 - rises]) if in_a_row else int(idx[-1 - len(recent)])
    curv = _curvature_on_path(loss_fn, p, began, +1) if known else float("nan")
    if h[-1] > h[0] and (in_a_row or 2 * ups > len(recent)) and not curv <= 0:
        where = (f"; where it began to rise the curvature along the path is {curv:.3g}, and plain GD is stable "
                 f"there only for α < 2/{curv:.3g} = {2 / curv:.3g}") if np.isfinite(curv) else ""
        how = ((f"{rises} steps in a row" if rises > 1 else "in one step") if in_a_row
               else f"at {ups} of its last {len(recent)} steps")
        first = h[-1 - rises] if in_a_row else h[-1 - len(recent)]
        return Diagnosis("lr", f"lr too large for this curvature: f rose {how}, from {first:.3g} to {h[-1]:.3g}{where}")
    return Diagnosis("overflow", f"the numbers overflowed (last finite f = {h[-1]:.3g} at {_fmt_point(p[-1])})")


@dataclass(frozen=True)
class Outcome:
    final_loss: float
    best_loss: float
    steps_to_tol: int | None
    path_length: float
    diverged_at: int | None
    left_domain_at: int | None
    diagnosis: Diagnosis | None = None

    @property
    def verdict(self) -> str:
        if self.diverged_at is not None:
            why = self.diagnosis.message if self.diagnosis else "the numbers overflowed"
            return f"diverged at step {self.diverged_at}: {why}"
        if self.left_domain_at is not None:
            return f"left the domain at step {self.left_domain_at}"
        if self.steps_to_tol is not None:
            return f"converged in {self.steps_to_tol} steps"
        return "still on its way"


def outcome(path, loss, diverged_at, domain, tol_target: float | None, loss_fn: Callable | None = None) -> Outcome:
    """Summarize one run; ``tol_target`` is the loss value counted as reached; ``loss_fn``
    (the surface's f) lets a divergence's diagnosis measure the curvature."""
    loss = np.asarray(loss, np.float64)
    finite = loss[np.isfinite(loss)]
    end = diverged_at - 1 if diverged_at is not None else len(loss) - 1
    return Outcome(
        final_loss=float(loss[end]) if np.isfinite(loss[end]) else float("nan"),
        best_loss=float(finite.min()) if finite.size else float("nan"),
        steps_to_tol=steps_to_tolerance(loss, tol_target) if tol_target is not None else None,
        path_length=path_length(np.asarray(path)[: end + 1]),
        diverged_at=diverged_at,
        left_domain_at=left_domain_at(np.asarray(path)[: end + 1], domain),
        diagnosis=diagnose_divergence(loss, path, diverged_at, loss_fn),
    )
