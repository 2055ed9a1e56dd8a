"""Seeded synthetic data sets and 2-parameter models on them, so that SGD and mini-batches
sample real examples (no simulated noise).

- ``linear``: a noisy line ``y = w x + b + noise``; the model ``ŷ = w x + b`` with the least
  squares loss ``(ŷ − y)²``; parameters ``(w, b)``.
- ``logistic``: two Gaussian blobs labelled ``y ∈ {−1, 1}``; the model ``ŷ = w₁ x₁ + w₂ x₂``
  with the logistic loss ``log(1 + exp(−ŷ y))``; parameters ``(w₁, w₂)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import jax.numpy as jnp
import numpy as np

from surfaces.analytic import Surface

MODELS = ("linear", "logistic")
MAX_EXAMPLES = 100_000


def linear_loss(params, x, y):
    """Least squares on one example: (w x + b − y)²."""
    return (params[0] * x + params[1] - y) ** 2


def logistic_loss(params, x, y):
    """Logistic loss on one example: log(1 + exp(−ŷ y)) with ŷ = w₁ x₁ + w₂ x₂, y ∈ {−1, 1}."""
    return jnp.logaddexp(0.0, -y * (params[0] * x[0] + params[1] * x[1]))


def make_line(m: int, noise: float = 0.5, seed: int = 0, w: float = 2.0, b: float = -1.0):
    """m points x ~ U(−2, 2), y = w x + b + noise · N(0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, m)
    return x.astype(np.float32), (w * x + b + noise * rng.standard_normal(m)).astype(np.float32)


def make_blobs(m: int, noise: float = 0.8, seed: int = 0, center=(1.0, 0.5)):
    """m points in two Gaussian blobs of spread ``noise`` around ±center, labels ±1 (half each)."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(m) % 2 == 0, 1.0, -1.0)
    rng.shuffle(y)
    X = y[:, None] * np.asarray(center) + noise * rng.standard_normal((m, 2))
    return X.astype(np.float32), y.astype(np.float32)


def least_squares_optimum(x, y) -> np.ndarray:
    """(w, b) minimizing Σ (w x + b − y)², in closed form (NumPy lstsq)."""
    A = np.stack([x, np.ones_like(x)], axis=1).astype(np.float64)
    return np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]


def logistic_optimum(X, y, iters: int = 50) -> np.ndarray:
    """(w₁, w₂) minimizing the mean logistic loss, by Newton's method in float64."""
    X, y = X.astype(np.float64), y.astype(np.float64)
    w = np.zeros(2)
    for _ in range(iters):
        z = y * (X @ w)
        p = 1 / (1 + np.exp(z))  # σ(−z)
        grad = -(X * (y * p)[:, None]).mean(0)
        H = (X.T * (p * (1 - p))) @ X / len(y) + 1e-9 * np.eye(2)
        step = np.linalg.solve(H, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return w


@dataclass(frozen=True, eq=False)
class DataModel:
    """A data set and a 2-parameter model on it; ``surface`` is its full-batch mean loss."""

    kind: str
    X: np.ndarray
    y: np.ndarray
    per_example_loss: object
    optimum: np.ndarray
    param_names: tuple[str, str]
    latex: str
    surface: Surface = field(repr=False)

    @property
    def m(self) -> int:
        return len(self.y)

    def loss(self, params) -> jnp.ndarray:
        """The full-batch mean loss at ``params``."""
        return self.surface.f(jnp.asarray(params))


def _full_loss_xy(kind, X, y):
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def fxy(a, b):
        a, b = jnp.asarray(a)[..., None], jnp.asarray(b)[..., None]
        if kind == "linear":
            return jnp.mean((a * Xj + b - yj) ** 2, axis=-1)
        return jnp.mean(jnp.logaddexp(0.0, -yj * (a * Xj[:, 0] + b * Xj[:, 1])), axis=-1)

    return fxy


@lru_cache(maxsize=16)
def make_model(kind: str = "linear", m: int = 200, noise: float = 0.5, seed: int = 0) -> DataModel:
    """The data set of ``kind`` with ``m`` examples and its model (cached by its inputs)."""
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")
    if not 1 <= m <= MAX_EXAMPLES:
        raise ValueError(f"the number of examples must be between 1 and {MAX_EXAMPLES}, not {m}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"the noise must be a finite number ≥ 0, not {noise}")
    if kind == "linear":
        X, y = make_line(m, noise, seed)
        opt = least_squares_optimum(X, y)
        names, loss = ("w", "b"), linear_loss
        latex = r"L(w, b) = \frac{1}{m}\sum_{i=1}^{m} \left(w x_i + b - y_i\right)^2"
    else:
        X, y = make_blobs(m, max(noise, 1e-3), seed)
        opt = logistic_optimum(X, y)
        names, loss = ("w_1", "w_2"), logistic_loss
        latex = r"L(w_1, w_2) = \frac{1}{m}\sum_{i=1}^{m} \log\left(1 + e^{-y_i (w_1 x_{i1} + w_2 x_{i2})}\right)"
    span = 4.0
    domain = ((float(opt[0] - span), float(opt[0] + span)), (float(opt[1] - span), float(opt[1] + span)))
    surface = Surface(
        f"{kind}-data", f"{kind} regression, m = {m}", _full_loss_xy(kind, X, y), domain,
        ((float(opt[0]), float(opt[1])),), latex,
        (float(opt[0] - 0.8 * span), float(opt[1] + 0.7 * span)),
    )
    return DataModel(kind, X, y, loss, opt, names, latex, surface)
