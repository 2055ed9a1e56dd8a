"""What a trajectory achieved: final loss, steps to a tolerance, path length, where it left
the domain.  NumPy in, NumPy out (these run after the jitted run, on its arrays)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Outcome:
    final_loss: float
    best_loss: float
    steps_to_tol: int | None
    path_length: float
    diverged_at: int | None
    left_domain_at: int | None

    @property
    def verdict(self) -> str:
        if self.diverged_at is not None:
            return f"diverged at step {self.diverged_at}: lr too large for this curvature"
        if self.left_domain_at is not None:
            return f"left the domain at step {self.left_domain_at}"
        if self.steps_to_tol is not None:
            return f"converged in {self.steps_to_tol} steps"
        return "still on its way"


def outcome(path, loss, diverged_at, domain, tol_target: float | None) -> Outcome:
    """Summarize one run; ``tol_target`` is the loss value counted as reached."""
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
    )
