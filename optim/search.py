"""Hyperparameter sweeps and searches: pure functions over ``optim.run_many``.

- ``Axis``: a hyperparameter's range on its scale (the course: the learning rate on a log
  scale; β on log(1 − β), so that 0.9, 0.99, 0.999 are evenly spaced).
- ``sweep``: the final loss (and steps to a tolerance) over a grid of two hyperparameters,
  every cell a real run, all of them in one vmapped, jitted call (or in chunks of equal shape,
  which compile once, for progress feedback).
- ``grid_trials`` / ``random_trials`` / ``compare_searches``: grid search against random search
  with the same budget of trials, repeated over seeds (Bergstra & Bengio, 2012: when one
  hyperparameter matters much more than the other, a k × k grid tries only k values of it,
  random search tries k²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from optim.rules import HParam
from optim.runner import run_many

SCALES = ("log", "log1m", "linear")


@dataclass(frozen=True)
class Axis:
    """The range ``[low, high]`` of hyperparameter ``name`` on its ``scale``.

    Its coordinate ``c(v)`` is log₁₀ v (scale "log"), −log₁₀(1 − v) ("log1m": β = 0.9, 0.99,
    0.999 at c = 1, 2, 3) or v ("linear"); points evenly spaced in c are evenly spaced on the
    scale, and ``u ∈ [0, 1]`` maps linearly to c between c(low) and c(high)."""

    name: str
    low: float
    high: float
    scale: str = "linear"

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"scale is one of {SCALES}, not {self.scale!r}")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"{self.name}: the range needs low < high, not [{self.low:g}, {self.high:g}]")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"{self.name} is on a log scale: its range must be > 0, not from {self.low:g}")
        if self.scale == "log1m" and self.high >= 1:
            raise ValueError(f"{self.name} is on a log(1 − β) scale: its range must stay below 1, "
                             f"not up to {self.high:g}")

    @classmethod
    def of(cls, hp: HParam, low: float | None = None, high: float | None = None) -> "Axis":
        """The axis of a registry hyperparameter, on its registry range unless told."""
        return cls(hp.name, float(hp.low if low is None else low), float(hp.high if high is None else high),
                   hp.scale)

    def coord(self, v):
        """c(v): the coordinate on which this axis is evenly spaced."""
        v = np.asarray(v, np.float64)
        if self.scale == "log":
            return np.log10(v)
        if self.scale == "log1m":
            return -np.log10(1.0 - v)
        return v

    def value(self, c):
        """v(c), the inverse of ``coord``."""
        c = np.asarray(c, np.float64)
        if self.scale == "log":
            return 10.0**c
        if self.scale == "log1m":
            return 1.0 - 10.0 ** (-c)
        return c

    def from_unit(self, u):
        """The value at fraction u ∈ [0, 1] of the axis, on its scale."""
        lo, hi = self.coord(self.low), self.coord(self.high)
        return self.value(lo + np.asarray(u, np.float64) * (hi - lo))

    def to_unit(self, v):
        lo, hi = self.coord(self.low), self.coord(self.high)
        return (self.coord(v) - lo) / (hi - lo)

    def values(self, n: int) -> np.ndarray:
        """n values evenly spaced on the scale, both ends included, as the float32 numbers the
        runs use (log-spaced for "log", spaced in log(1 − v) for "log1m")."""
        if n < 2:
            raise ValueError(f"an axis needs at least 2 values, not {n}")
        return self.from_unit(np.linspace(0.0, 1.0, n)).astype(np.float32)


# --- many runs, summarized ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """What each of N runs achieved, flat arrays of shape (N,).

    final:    the loss after the last step (for a diverged run, at its last finite params).
    diverged: the params or the loss stopped being finite.
    steps_to_tol: the first step whose loss is ≤ the target, NaN if never (or no target)."""

    final: np.ndarray
    diverged: np.ndarray
    steps_to_tol: np.ndarray


def evaluate(optimizer, surface, x0, steps: int, hps: Mapping[str, Any], fixed_hp: Mapping[str, float] | None = None,
             *, convention: str | None = None, target: float | None = None, pad_to: int | None = None) -> Outcomes:
    """N runs of ``optimizer`` on ``surface`` from ``x0`` in ONE ``run_many`` call: ``hps`` maps
    hyperparameter names to arrays of shape (N,), ``fixed_hp`` sets the others (scalars).

    Only the loss is recorded (N × (steps + 1) floats, not the params).  ``pad_to`` pads the
    batch to that many runs (repeating the last) so that chunks of a sweep share one compilation."""
    arrays = {k: np.asarray(v, np.float32).ravel() for k, v in hps.items()}
    n = len(next(iter(arrays.values())))
    size = max(n, pad_to or 0)
    arrays = {k: np.concatenate([v, np.repeat(v[-1:], size - n)]) for k, v in arrays.items()}
    fixed = {k: float(v) for k, v in (fixed_hp or {}).items() if k not in arrays}
    x0s = np.broadcast_to(np.asarray(x0, np.float32), (size, 2))
    tr = run_many(optimizer, surface.grad, x0s, int(steps), loss_fn=surface.f, record=("loss",),
                  convention=convention, **fixed, **arrays)
    loss = np.asarray(tr.loss)[:n]
    final = loss[:, -1]
    diverged = (np.asarray(tr.diverged_step)[:n] >= 0) | ~np.isfinite(final)
    tol = np.full(n, np.nan, np.float32)
    if target is not None:
        with np.errstate(invalid="ignore"):
            hit = loss <= target
        first = np.argmax(hit, axis=1)
        tol = np.where(hit[np.arange(n), first], first, np.nan).astype(np.float32)
    return Outcomes(final.astype(np.float32), diverged, tol)


def gap_target(surface, tol: float | None) -> float | None:
    """The loss counted as reached: f* + tol (None when the surface has no known minimum)."""
    f_star = surface.min_value
    return None if tol is None or f_star is None else f_star + float(tol)


# --- sweeps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """A grid of runs: cell [j, i] ran with ``hp_x = xs[i]`` and ``hp_y = ys[j]``."""

    hp_x: str
    hp_y: str
    xs: np.ndarray  # (nx,) float32
    ys: np.ndarray  # (ny,) float32
    final: np.ndarray  # (ny, nx)
    diverged: np.ndarray  # (ny, nx) bool
    steps_to_tol: np.ndarray  # (ny, nx), NaN where never reached

    def best(self, metric: str = "final") -> tuple[int, int] | None:
        """(j, i) of the best cell that did not diverge (lowest final loss, or fewest steps to
        the tolerance, ties broken by the final loss); None if every run diverged."""
        final = np.where(self.diverged, np.inf, self.final.astype(np.float64))
        if metric == "steps" and np.isfinite(self.steps_to_tol).any():
            steps = np.where(self.diverged | np.isnan(self.steps_to_tol), np.inf, self.steps_to_tol)
            order = np.lexsort((final.ravel(), steps.ravel()))
        else:
            order = np.argsort(final.ravel(), kind="stable")
        k = int(order[0])
        return None if not np.isfinite(final.ravel()[k]) else divmod(k, self.final.shape[1])


def grid_cells(xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """Every (x, y) of the grid, row after row (cell [j, i] is run j · nx + i)."""
    gx, gy = np.meshgrid(np.asarray(xs, np.float32), np.asarray(ys, np.float32))
    return gx.ravel(), gy.ravel()


def chunk_bounds(n: int, size: int | None) -> list[tuple[int, int]]:
    """[start, stop) of consecutive chunks of ``size`` runs (one chunk when size is None)."""
    size = n if size is None else max(1, int(size))
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def assemble(hp_x: str, hp_y: str, xs, ys, parts: list[Outcomes]) -> Sweep:
    """A sweep from the outcomes of its chunks, in order."""
    shape = (len(ys), len(xs))

    def cat(field):
        return np.concatenate([getattr(p, field) for p in parts]).reshape(shape)

    return Sweep(hp_x, hp_y, np.asarray(xs, np.float32), np.asarray(ys, np.float32),
                 cat("final"), cat("diverged"), cat("steps_to_tol"))


def sweep_part(optimizer, surface, x0, steps: int, hp_x: str, hp_y: str, xs, ys, fixed_hp=None, *,
               start: int = 0, stop: int | None = None, convention: str | None = None, tol: float | None = None,
               pad_to: int | None = None) -> Outcomes:
    """Runs ``start`` to ``stop`` of the sweep's cells (row after row), in one ``run_many`` call."""
    gx, gy = grid_cells(xs, ys)
    sl = slice(start, len(gx) if stop is None else stop)
    return evaluate(optimizer, surface, x0, steps, {hp_x: gx[sl], hp_y: gy[sl]}, fixed_hp, convention=convention,
                    target=gap_target(surface, tol), pad_to=pad_to)


def sweep(optimizer, surface, x0, steps: int, hp_x: str, hp_y: str, xs, ys,
          fixed_hp: Mapping[str, float] | None = None, *, convention: str | None = None, tol: float | None = None,
          chunk: int | None = None, on_progress: Callable[[int, int], Any] | None = None) -> Sweep:
    """The final loss of ``optimizer`` on ``surface`` from ``x0`` after ``steps`` steps for
    every (hp_x, hp_y) in xs × ys, the other hyperparameters at ``fixed_hp`` (else defaults),
    and the steps to reach f* + ``tol``.

    All nx · ny runs in one ``run_many`` call, or (``chunk``) in calls of ``chunk`` runs each,
    the last one padded so that every call has the same shape and compiles once;
    ``on_progress(done, total)`` is called after each."""
    n = len(xs) * len(ys)
    parts = []
    for a, b in chunk_bounds(n, chunk):
        parts.append(sweep_part(optimizer, surface, x0, steps, hp_x, hp_y, xs, ys, fixed_hp, start=a, stop=b,
                                convention=convention, tol=tol, pad_to=chunk))
        if on_progress is not None:
            on_progress(b, n)
    return assemble(hp_x, hp_y, xs, ys, parts)


def nearest_cell(ax: Axis, ay: Axis, xs, ys, x: float, y: float) -> tuple[int, int]:
    """(j, i) of the cell nearest to (x, y), measured on the axes' scales."""
    i = int(np.argmin(np.abs(ax.coord(xs) - ax.coord(x))))
    j = int(np.argmin(np.abs(ay.coord(ys) - ay.coord(y))))
    return j, i


# --- grid search against random search ------------------------------------------------------------


def grid_trials(budget: int, seed: int, shift: bool = True) -> np.ndarray:
    """Grid search's trials in the unit square: k = √budget values per axis, at the centres of k
    equal cells (so that it covers the box evenly), the whole grid moved by a random offset of
    less than half a cell per axis when ``shift`` (the grid's luck of falling on the best
    values is then drawn afresh for each seed), visited in a random order.  (budget, 2)."""
    k = math.isqrt(budget)
    if k * k != budget or k < 1:
        raise ValueError(f"grid search needs a square budget (4, 9, 16, 25 …), not {budget}")
    rng = np.random.default_rng([seed, 1])
    offset = rng.uniform(-0.5, 0.5, 2) / k if shift else np.zeros(2)
    c = (np.arange(k) + 0.5) / k
    u = np.stack(np.meshgrid(c, c), axis=-1).reshape(-1, 2) + offset
    return u[rng.permutation(budget)]


def random_trials(budget: int, seed: int) -> np.ndarray:
    """Random search's trials: ``budget`` points drawn uniformly in the unit square (uniform on
    each axis's scale once mapped), reproducible per seed.  (budget, 2)."""
    return np.random.default_rng([seed, 0]).random((budget, 2))


def scores(outcomes: Outcomes, f_star: float | None = None) -> np.ndarray:
    """What a search minimizes: the final loss (minus f* when known); +inf for a diverged run."""
    gap = outcomes.final.astype(np.float64) - (f_star or 0.0)
    return np.where(outcomes.diverged, np.inf, gap)


def best_so_far(s: np.ndarray) -> np.ndarray:
    """The best score after each trial: the running minimum along the last axis."""
    return np.minimum.accumulate(np.asarray(s, np.float64), axis=-1)


@dataclass(frozen=True)
class SearchComparison:
    """Grid and random search with the same budget, over seeds: trial points (in the unit
    square, (seeds, budget, 2)), their scores and the best-so-far curves (seeds, budget)."""

    seeds: np.ndarray
    grid_u: np.ndarray
    random_u: np.ndarray
    grid_scores: np.ndarray
    random_scores: np.ndarray

    @property
    def grid_best(self) -> np.ndarray:
        return best_so_far(self.grid_scores)

    @property
    def random_best(self) -> np.ndarray:
        return best_so_far(self.random_scores)

    def medians(self) -> tuple[float, float]:
        """(grid, random): the median over seeds of the best score after the whole budget."""
        return float(np.median(self.grid_best[:, -1])), float(np.median(self.random_best[:, -1]))

    def random_wins(self) -> float:
        """The fraction of seeds on which random search ends strictly better than grid search."""
        return float(np.mean(self.random_best[:, -1] < self.grid_best[:, -1]))


def compare_searches(score_fn: Callable[[np.ndarray], np.ndarray], budget: int, seeds, shift: bool = True
                     ) -> SearchComparison:
    """Grid search against random search, ``budget`` trials each, for every seed.

    ``score_fn(u)`` scores points ``u`` of shape (M, 2) of the unit square (lower is better);
    it is called once for all the trials of both searches over all seeds (one vmapped batch)."""
    seeds = np.asarray(list(seeds), np.int64)
    g = np.stack([grid_trials(budget, int(s), shift) for s in seeds])
    r = np.stack([random_trials(budget, int(s)) for s in seeds])
    s = np.asarray(score_fn(np.concatenate([g, r]).reshape(-1, 2)), np.float64).reshape(2, len(seeds), budget)
    return SearchComparison(seeds, g, r, s[0], s[1])


def run_score_fn(optimizer, surface, x0, steps: int, ax: Axis, ay: Axis, fixed_hp=None, *,
                 convention: str | None = None, pad: int = 1024) -> Callable[[np.ndarray], np.ndarray]:
    """``score_fn`` for ``compare_searches``: each point of the unit square is a real run with
    ``ax.name = ax.from_unit(u₀)`` and ``ay.name = ay.from_unit(u₁)``, scored by ``scores``.
    The batch is padded to a multiple of ``pad`` runs, so that budgets and seed counts share
    compilations."""

    def score(u):
        u = np.asarray(u, np.float64)
        hps = {ax.name: ax.from_unit(u[:, 0]), ay.name: ay.from_unit(u[:, 1])}
        out = evaluate(optimizer, surface, x0, steps, hps, fixed_hp, convention=convention,
                       pad_to=-(-len(u) // pad) * pad)
        return scores(out, surface.min_value)

    return score
