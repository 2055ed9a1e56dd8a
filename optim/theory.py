"""Why a run converges, zig-zags, crawls or explodes: the theory of the quadratic.

On f(W) = ½ (W − W*)ᵀ H (W − W*), whose Hessian H has eigenvalues λ in [μ, L] (κ = L/μ), every
rule of this module is linear, and in H's eigenbasis each direction moves on its own.  Per
eigenvalue λ, with x the coordinate of W − W* along that eigenvector and v the velocity:

- GD:        x := (1 − αλ) x.
- Momentum, the course's EWMA form  v := βv + (1 − β) dW,  W := W − αv  with dW = λx:
             v := (1 − β)λ x + β v,  x := (1 − α(1 − β)λ) x − αβ v.
  It is Polyak's heavy ball  x_{k+1} = x_k − h λ x_k + β (x_k − x_{k−1})  with the step
  h = α(1 − β): the characteristic polynomial is  z² − (1 + β − hλ) z + β.
- Nesterov, the course's form (``optim.rules.nesterov_step``)  v := βv + (1 − β)∇L(W − αβv),
  W := W − αv: the gradient is read at x − αβv, so
             v := (1 − β)λ x + β(1 − hλ) v,  x := (1 − hλ) x − αβ(1 − hλ) v,   h = α(1 − β),
  whose characteristic polynomial is  z² − (1 + β)(1 − hλ) z + β(1 − hλ): the textbook
  Nesterov method with the step h (optax's and PyTorch's form, with learning rate h).

A direction's error shrinks (or grows) by the spectral radius ρ(λ) of its 2 × 2 matrix per
step, asymptotically; the run's rate is the largest over the eigenvalues.  Everything here
depends on α and λ only through s = αλ (and on β): the stability map is a plane (αλ, β).
PyTorch's conventions (``v := βv + dW``) are the same rules with α_course = α / (1 − β).
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

THEORY = ("gd", "momentum", "nesterov")  # the rules this module speaks for
FLOAT32_MAX = float(np.finfo(np.float32).max)
MONOTONE, OSCILLATING, DIVERGING = 0, 1, 2
REGIONS = ("monotone", "oscillating", "diverging")


def course_hp(name: str, hp: Mapping[str, float], convention: str = "course") -> dict[str, float]:
    """(lr, beta) in the course's convention: PyTorch's ``v := βv + dW`` with α is the course's
    rule with α / (1 − β) (momentum and Nesterov alike); GD has β = 0."""
    if name not in THEORY:
        raise ValueError(f"the theory of the quadratic covers {THEORY}, not {name!r}")
    beta = 0.0 if name == "gd" else float(hp["beta"])
    lr = float(hp["lr"])
    if convention == "pytorch" and name != "gd":
        lr = lr / (1.0 - beta)
    return {"lr": lr, "beta": beta}


def recurrence(name: str, hp: Mapping[str, float], lam: float) -> np.ndarray:
    """The matrix M with (x, v)_{k+1} = M (x, v)_k along an eigenvector of eigenvalue λ
    (GD: the 1 × 1 matrix [1 − αλ]; see the module's docstring for the derivations):

    momentum  M = [[1 − hλ, −αβ], [(1 − β)λ, β]],
    Nesterov  M = [[1 − hλ, −αβ(1 − hλ)], [(1 − β)λ, β(1 − hλ)]],   h = α(1 − β)."""
    a, b = course_hp(name, hp)["lr"], course_hp(name, hp)["beta"]
    h = a * (1 - b)
    if name == "gd":
        return np.array([[1 - a * lam]])
    if name == "momentum":
        return np.array([[1 - h * lam, -a * b], [(1 - b) * lam, b]])
    q = 1 - h * lam
    return np.array([[q, -a * b * q], [(1 - b) * lam, b * q]])


def _char(name: str, s, beta):
    """(T, D) of the characteristic polynomial z² − T z + D at s = αλ (GD: D = 0, T = 1 − s)."""
    s, beta = np.asarray(s, np.float64), np.asarray(beta, np.float64)
    hs = s * (1 - beta)
    if name == "gd":
        return 1 - s, np.zeros_like(s)
    if name == "momentum":
        return 1 + beta - hs, beta * np.ones_like(s)
    return (1 + beta) * (1 - hs), beta * (1 - hs)


def roots(name: str, s, beta=0.0) -> tuple[np.ndarray, np.ndarray]:
    """The two eigenvalues z = (T ± sqrt(T² − 4D)) / 2 of the recurrence at s = αλ (complex)."""
    t, d = _char(name, s, 0.0 if name == "gd" else beta)
    disc = np.sqrt(np.asarray(t * t - 4 * d, np.complex128))
    return (t + disc) / 2, (t - disc) / 2


def rate_at(name: str, s, beta=0.0) -> np.ndarray:
    """ρ(s, β) = max |z| over the roots: the factor by which the error along a direction with
    αλ = s shrinks per step, asymptotically (> 1: it grows).  Vectorized over s and β."""
    z1, z2 = roots(name, s, beta)
    return np.maximum(np.abs(z1), np.abs(z2))


def region_at(name: str, s, beta=0.0) -> np.ndarray:
    """Per (s, β): ``DIVERGING`` when ρ ≥ 1, else ``MONOTONE`` when the dominant root is real and
    positive (the error keeps its sign), else ``OSCILLATING`` (a complex or negative root: the
    error changes sign, GD's zig-zag or momentum's spiral)."""
    z1, z2 = roots(name, s, beta)
    dom = np.where(np.abs(z1) >= np.abs(z2), z1, z2)
    rho = np.maximum(np.abs(z1), np.abs(z2))
    real_pos = (np.abs(dom.imag) <= 1e-12 * np.maximum(np.abs(dom), 1e-300)) & (dom.real > 0)
    return np.where(rho >= 1, DIVERGING, np.where(real_pos, MONOTONE, OSCILLATING))


def rate(name: str, hp: Mapping[str, float], lam) -> np.ndarray:
    """The predicted rate of the direction(s) of eigenvalue λ: ρ(M(λ)), M from ``recurrence``.
    ``hp``: lr (and beta) in the course's convention."""
    c = course_hp(name, hp)
    return rate_at(name, c["lr"] * np.asarray(lam, np.float64), c["beta"])


def worst_rate(name: str, hp: Mapping[str, float], mu: float, L: float) -> float:
    """max over λ ∈ [μ, L] of ρ: the run's asymptotic rate on a quadratic with that spectrum.
    For all three rules ρ is non-increasing then non-decreasing in λ (decreasing in the complex
    region, |roots| growing away from it), so the endpoints carry the maximum."""
    return float(np.max(rate(name, hp, np.array([mu, L]))))


def stability_limit(name: str, L: float, beta: float = 0.0) -> float:
    """The largest α (course convention) for which every direction with λ ≤ L converges:
    GD  α < 2/L;  heavy ball  0 < α(1 − β)λ < 2 + 2β;  Nesterov  0 < α(1 − β)λ < (2 + 2β)/(1 + 2β)
    (Jury's test on z² − (1 + β)(1 − s) z + β(1 − s), s = α(1 − β)λ: |D| < 1 and |T| < 1 + D)."""
    if name == "gd":
        return 2.0 / L
    if name == "momentum":
        return (2 + 2 * beta) / ((1 - beta) * L)
    return (2 + 2 * beta) / ((1 + 2 * beta) * (1 - beta) * L)


class Optimum(NamedTuple):
    """The best constant setting for eigenvalues in [μ, L]: lr and beta in the course's
    convention, and the rate it guarantees."""

    lr: float
    beta: float
    rate: float


def optimal(name: str, mu: float, L: float) -> Optimum:
    """The setting that minimizes the worst rate over λ ∈ [μ, L] (κ = L/μ):

    - GD: α* = 2/(L + μ), ρ* = (κ − 1)/(κ + 1);
    - heavy ball (Polyak): h* = 4/(√L + √μ)², β* = ((√κ − 1)/(√κ + 1))², ρ* = (√κ − 1)/(√κ + 1);
      in the course's EWMA form α* = h*/(1 − β*);
    - Nesterov, tuned for quadratics (Lessard, Recht & Packard 2016): h* = 4/(3L + μ),
      β* = (√(3κ + 1) − 2)/(√(3κ + 1) + 2), ρ* = 1 − 2/√(3κ + 1); α* = h*/(1 − β*)."""
    k = L / mu
    if name == "gd":
        return Optimum(2 / (L + mu), 0.0, (k - 1) / (k + 1))
    if name == "momentum":
        r = (math.sqrt(k) - 1) / (math.sqrt(k) + 1)
        beta = r * r
        return Optimum(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2 / (1 - beta), beta, r)
    q = math.sqrt(3 * k + 1)
    beta = (q - 2) / (q + 2)
    return Optimum(4 / (3 * L + mu) / (1 - beta), beta, 1 - 2 / q)


def lower_bound(mu: float, L: float) -> float:
    """Nesterov's lower bound for first-order methods on μ-strongly convex, L-smooth functions
    (iterates in the span of the past gradients): no such method beats ρ = (√κ − 1)/(√κ + 1) on
    every such function; the heavy ball attains it on quadratics."""
    k = L / mu
    return (math.sqrt(k) - 1) / (math.sqrt(k) + 1)


def best_on_grid(name: str, mu: float, L: float, lrs, betas, convention: str = "course") -> Optimum:
    """The setting among ``lrs`` × ``betas`` (the sliders' values, α in ``convention``) with the
    lowest worst rate; its lr is in that convention too."""
    lrs = np.asarray(lrs, np.float64)
    betas = np.asarray([0.0] if name == "gd" else betas, np.float64)
    a, b = np.meshgrid(lrs, betas, indexing="ij")
    if convention == "pytorch" and name != "gd":
        a = a / (1 - b)
    worst = np.maximum(rate_at(name, a * mu, b), rate_at(name, a * L, b))
    i, j = np.unravel_index(int(np.argmin(worst)), worst.shape)
    return Optimum(float(lrs[i]), float(betas[j]), float(worst[i, j]))


# --- the local quadratic model of any surface -----------------------------------------------------


class LocalModel(NamedTuple):
    """f near ``point``: f(x) ≈ value + gradᵀ(x − p) + ½ (x − p)ᵀ H (x − p); ``eigvals``
    ascending and ``eigvecs`` (columns) of H."""

    point: np.ndarray
    value: float
    grad: np.ndarray
    hessian: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray

    @property
    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.hessian)))

    @property
    def saddle(self) -> bool:
        """A negative eigenvalue: along its eigenvector f curves down, and every rule moves away."""
        return self.finite and bool(self.eigvals[0] < 0 < self.eigvals[-1])

    @property
    def mu(self) -> float:
        return float(self.eigvals[0])

    @property
    def L(self) -> float:
        return float(self.eigvals[-1])

    @property
    def stationary(self) -> np.ndarray:
        """The model's stationary point p − H⁻¹g (its minimum when H is positive definite)."""
        return self.point - np.linalg.solve(self.hessian, self.grad)

    @property
    def stationary_value(self) -> float:
        """The model's value there: f(p) − ½ gᵀH⁻¹g."""
        return self.value - 0.5 * float(self.grad @ np.linalg.solve(self.hessian, self.grad))

    @property
    def kappa(self) -> float:
        """κ = λ_max / λ_min when every eigenvalue is positive, else ∞."""
        return self.L / self.mu if self.finite and self.mu > 0 else math.inf


def local_model(f: Callable, point) -> LocalModel:
    """The second-order Taylor model of f at ``point``: H = ``jax.hessian(f)``, symmetrized, and
    its eigen-decomposition (float64 NumPy)."""
    p = jnp.asarray(point, jnp.float32)
    h = np.asarray(jax.hessian(f)(p), np.float64)
    h = 0.5 * (h + h.T)
    g = np.asarray(jax.grad(f)(p), np.float64)
    if np.all(np.isfinite(h)):
        w, v = np.linalg.eigh(h)
    else:
        w, v = np.full(len(h), np.nan), np.full_like(h, np.nan)
    return LocalModel(np.asarray(point, np.float64), float(f(p)), g, h, w, v)


def is_quadratic(f: Callable, points, rtol: float = 1e-4) -> bool:
    """Whether f's Hessian is the same at every one of ``points`` (to ``rtol`` of its size):
    then f is a quadratic there and the theory is exact, not local."""
    hs = [local_model(f, p).hessian for p in points]
    scale = max(float(np.max(np.abs(hs[0]))), 1e-12)
    return all(np.all(np.isfinite(h)) and float(np.max(np.abs(h - hs[0]))) <= rtol * scale for h in hs)


# --- theory against a run ----------------------------------------------------------------------------


def usable_steps(dist, floor: float = 0.0) -> int:
    """The length of the prefix of ``dist`` that is finite and above ``floor``."""
    d = np.asarray(dist, np.float64)
    ok = np.isfinite(d) & (d > floor)
    return len(d) if np.all(ok) else int(np.argmin(ok))


def measured_rate(dist, floor: float = 0.0, min_steps: int = 20) -> float | None:
    """The asymptotic rate of a run from its distance to the minimum ``dist`` (steps + 1,): over
    the second half of the steps where ``dist`` is finite and above ``floor`` (where float32
    rounding stops it), the slope of log(max of dist over blocks of 1/8 of that half) against
    the step.  Block maxima follow the envelope C·ρᵏ through a zig-zag or a spiral.  None when
    fewer than ``min_steps`` steps are usable."""
    d = np.asarray(dist, np.float64)
    n = usable_steps(d, floor)
    if n < 2 * min_steps:
        return None
    a = n // 2
    w = max(1, (n - a) // 8)
    starts = np.arange(a, n - w + 1, w)
    peaks = np.array([d[s:s + w].max() for s in starts])
    centres = starts + (w - 1) / 2
    slope = np.polyfit(centres, np.log(peaks), 1)[0]
    return float(math.exp(slope))


def linear_run(name: str, hp: Mapping[str, float], hessian, x0, steps: int, limit: float = 1e300) -> np.ndarray:
    """The rule on the quadratic ½ xᵀHx from x₀ (v₀ = 0), in float64: the theory's own path of
    W − W* (steps + 1, n), stopped (NaN after) once ‖x‖ passes ``limit``."""
    c = course_hp(name, hp)
    a, b = c["lr"], c["beta"]
    H = np.asarray(hessian, np.float64)
    x, v = np.asarray(x0, np.float64).copy(), np.zeros(len(x0))
    out = np.full((steps + 1, len(x)), np.nan)
    out[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            if name == "gd":
                x = x - a * (H @ x)
            else:
                g = H @ (x - a * b * v) if name == "nesterov" else H @ x
                v = b * v + (1 - b) * g
                x = x - a * v
            out[k + 1] = x
            if not np.all(np.isfinite(x)) or np.linalg.norm(x) > limit:
                break
    return out


def predicted_overflow(name: str, hp: Mapping[str, float], hessian, x0, steps: int) -> int | None:
    """The step at which the theory's path makes f − f* = ½ xᵀHx pass float32's largest number
    (the runner stops a run there: ``diverged_at``), or None within ``steps``."""
    H = np.asarray(hessian, np.float64)
    low = float(np.linalg.eigvalsh(H)[0])
    # past ‖x‖ = sqrt(2 · max / λ_min), ½ xᵀHx ≥ ½ λ_min ‖x‖² is past it too: no need to go on
    path = linear_run(name, hp, H, x0, steps, 2 * math.sqrt(2 * FLOAT32_MAX / low) if low > 0 else 1e300)
    with np.errstate(over="ignore", invalid="ignore"):
        gap = 0.5 * np.einsum("ki,ij,kj->k", path, H, path)
    over = np.flatnonzero(~np.isfinite(gap) | (gap > FLOAT32_MAX))
    return int(over[0]) if over.size else None


def envelope(rho: float, anchor: np.ndarray, start: int, stop: int, power: int = 1) -> tuple[float, np.ndarray]:
    """C·ρ^{power·k} for k = 0 … len(anchor) − 1, with C the smallest constant that lies on or
    above ``anchor[start:stop]`` (the run's tail): the predicted slope, placed on the run."""
    k = np.arange(len(anchor), dtype=np.float64)
    a = np.asarray(anchor, np.float64)[start:stop]
    with np.errstate(divide="ignore", over="ignore"):
        c = float(np.nanmax(a / rho ** (power * k[start:stop]))) if stop > start else float("nan")
        return c, c * rho ** (power * k)
