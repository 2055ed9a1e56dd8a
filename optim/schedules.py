"""Learning-rate schedules: pure functions ``α_t = f(t; α₀, params)``, usable inside ``jit``.

``t`` counts the updates already made (0 for the first update, so every schedule starts at
``α₀``), or the epochs when a run decays per epoch.  Parameters are traced: changing ``k``,
``γ`` or ``s`` never recompiles a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import jax.numpy as jnp
import numpy as np

from optim.rules import HParam

K_TIME = HParam("k", "k", 0.01, 1e-4, 1.0, "log", "decay rate")
K_EXP = HParam("k", "k", 0.005, 1e-5, 0.1, "log", "decay rate")
GAMMA = HParam("gamma", r"\gamma", 0.5, 0.01, 1.0, "linear", "factor of each drop")
STEP_SIZE = HParam("step_size", "s", 100.0, 1.0, 1000.0, "linear", "steps between drops")
TOTAL = HParam("total", "T", 500.0, 1.0, 5000.0, "linear", "steps of the decay")
FINAL = HParam("final", "a", 0.0, 0.0, 1.0, "linear", "final rate as a fraction of α₀")
WARMUP = HParam("warmup", "w", 50.0, 1.0, 1000.0, "linear", "warm-up steps")


def constant(t, lr, p):
    """α_t = α₀."""
    return lr + 0.0 * t


def time_based(t, lr, p):
    """α_t = α₀ / (1 + k t)."""
    return lr / (1 + p["k"] * t)


def step_decay(t, lr, p):
    """α_t = α₀ · γ^⌊t / s⌋."""
    return lr * p["gamma"] ** jnp.floor(t / p["step_size"])


def exponential(t, lr, p):
    """α_t = α₀ · e^(−k t)."""
    return lr * jnp.exp(-p["k"] * t)


def _cosine_factor(t, total, final):
    """a + (1 − a) · ½ (1 + cos(π · min(t, T) / T))."""
    frac = jnp.minimum(t, total) / total
    return final + (1 - final) * 0.5 * (1 + jnp.cos(jnp.pi * frac))


def cosine(t, lr, p):
    """α_t = α₀ (a + (1 − a) · ½ (1 + cos(π min(t, T) / T)))."""
    return lr * _cosine_factor(t, p["total"], p["final"])


def warmup(t, lr, p):
    """α_t = α₀ · min(1, (t + 1) / w): linear warm-up, then constant."""
    return lr * jnp.minimum(1.0, (t + 1) / p["warmup"])


def warmup_cosine(t, lr, p):
    """α_t = α₀ (t + 1) / w for t < w, then α₀ (a + (1 − a) · ½ (1 + cos(π min(t − w, T − w) / (T − w))))."""
    w = p["warmup"]
    ramp = (t + 1) / w
    decay = _cosine_factor(jnp.maximum(t - w, 0.0), jnp.maximum(p["total"] - w, 1.0), p["final"])
    return lr * jnp.where(t < w, ramp, decay)


@dataclass(frozen=True)
class Schedule:
    name: str
    label: str
    fn: Callable
    params: tuple[HParam, ...]
    latex: str

    @property
    def defaults(self) -> dict[str, float]:
        return {h.name: h.default for h in self.params}

    def __call__(self, t, lr, params: Mapping[str, float] | None = None):
        return self.fn(jnp.asarray(t, jnp.float32), lr, {**self.defaults, **(params or {})})


SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in [
        Schedule("constant", "Constant", constant, (), r"\alpha_t = \alpha_0"),
        Schedule("time", "Time-based", time_based, (K_TIME,), r"\alpha_t = \frac{\alpha_0}{1 + k t}"),
        Schedule("step", "Step decay", step_decay, (GAMMA, STEP_SIZE),
                 r"\alpha_t = \alpha_0 \, \gamma^{\lfloor t / s \rfloor}"),
        Schedule("exponential", "Exponential", exponential, (K_EXP,), r"\alpha_t = \alpha_0 \, e^{-k t}"),
        Schedule("cosine", "Cosine", cosine, (TOTAL, FINAL),
                 r"\alpha_t = \alpha_0 \Big(a + \tfrac{1-a}{2}\big(1 + \cos\tfrac{\pi \min(t, T)}{T}\big)\Big)"),
        Schedule("warmup", "Linear warm-up", warmup, (WARMUP,),
                 r"\alpha_t = \alpha_0 \min\!\big(1, \tfrac{t+1}{w}\big)"),
        Schedule("warmup_cosine", "Warm-up then cosine", warmup_cosine, (WARMUP, TOTAL, FINAL),
                 r"\alpha_t = \begin{cases} \alpha_0 \frac{t+1}{w} & t < w \\ "
                 r"\alpha_0 \Big(a + \tfrac{1-a}{2}\big(1 + \cos\tfrac{\pi \min(t-w,\, T-w)}{T-w}\big)\Big) & t \ge w"
                 r"\end{cases}"),
    ]
}


def get_schedule(name: str | Schedule) -> Schedule:
    if isinstance(name, Schedule):
        return name
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}") from None


def full_schedule_params(schedule: Schedule, params: Mapping[str, float] | None) -> dict[str, float]:
    params = dict(params or {})
    unknown = set(params) - set(schedule.defaults)
    if unknown:
        raise ValueError(f"{schedule.label} takes {sorted(schedule.defaults)}, not {sorted(unknown)}")
    return {**schedule.defaults, **params}


def schedule_curve(name: str, lr: float, params: Mapping[str, float] | None, steps: int):
    """(t, α_t) for t = 0, 1, …, steps, from the registry's schedule (t = updates already made)."""
    t = np.arange(steps + 1, dtype=np.float32)
    return t, np.asarray(SCHEDULES[name](t, float(lr), params), np.float64)
