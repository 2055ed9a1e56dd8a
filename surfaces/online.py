"""Online problems: a loss that changes with the round t = 1, 2, …, for ``optim.run(...,
time_varying=True)`` (``grad_fn(x, t)``, ``loss_fn(x, t)``; ``optim.runner.Plain`` says which t
each step reads).

Reddi, Kale & Kumar (2018), the problem on which Adam fails:
f_t(x) = C x when t mod 3 = 1, else −x, for x in [−1, 1] (runs project onto it), C > 2.
Over any three rounds Σ f_t(x) = (C − 2) x: the best fixed point is x* = −1.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import jax.numpy as jnp
import numpy as np


class Online(NamedTuple):
    """An online problem: per-round ``loss(x, t)`` and ``grad(x, t)`` (the same objects for the
    same constants: they key the runner's compilation), the feasible box and the best fixed point."""

    loss: Callable
    grad: Callable
    box: tuple[float, float]
    best: float
    C: float


@lru_cache(maxsize=16)
def reddi(C: float = 3.0) -> Online:
    """Reddi et al.'s problem with constant C (C > 2 for x* = −1 to be the best fixed point)."""
    C = float(C)
    if C <= 2:
        raise ValueError(f"C must exceed 2 (the best point is then −1), not {C:g}")

    def slope(t):
        return jnp.where(t % 3 == 1, C, -1.0)

    def loss(x, t):
        return jnp.sum(slope(t) * x)

    def grad(x, t):
        return jnp.zeros_like(x) + slope(t).astype(jnp.result_type(x))

    return Online(loss, grad, (-1.0, 1.0), -1.0, C)


def slopes(problem: Online, T: int) -> np.ndarray:
    """The coefficients c_t of f_t(x) = c_t x for t = 1 … T."""
    t = np.arange(1, T + 1)
    return np.where(t % 3 == 1, problem.C, -1.0)


def average_regret(problem: Online, x: np.ndarray) -> np.ndarray:
    """R_T / T for T = 1 … len(x), the iterates x_1, x_2, … being ``x`` (x[t − 1] is where round t
    is played, a run's ``params[:T]``): R_T = Σ_{t ≤ T} f_t(x_t) − min over the box of Σ_{t ≤ T} f_t."""
    x = np.asarray(x, np.float64).reshape(len(x))
    c = slopes(problem, len(x))
    played = np.cumsum(c * x)
    total = np.cumsum(c)
    lo, hi = problem.box
    best = np.minimum(total * lo, total * hi)
    return (played - best) / np.arange(1, len(x) + 1)
