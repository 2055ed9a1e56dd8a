"""2-D test functions, each with its domain, global minima, LaTeX and start point.  What the
race shows on each (its caption) is a lesson: lessons/race.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import jax
import jax.numpy as jnp


@dataclass(frozen=True, eq=False)
class Surface:
    """A function of two parameters to minimize.

    ``fxy(x, y)`` works element-wise on arrays (grids); ``f(xy)`` takes ``xy[..., 0:2]`` and
    ``grad`` is ``jax.grad(f)``, built once so that runs on the same surface share one
    compilation.  ``minima`` are the global minima ([] when there is none)."""

    name: str
    label: str
    fxy: Callable
    domain: tuple[tuple[float, float], tuple[float, float]]
    minima: tuple[tuple[float, float], ...]
    latex: str
    start: tuple[float, float]
    log_levels: bool = False  # the values span decades: draw log-spaced level lines
    local_minima: tuple[tuple[float, float], ...] = ()  # other minima worth naming (not global)
    grad: Callable = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "grad", jax.grad(self.f))

    def f(self, xy):
        xy = jnp.asarray(xy)
        return self.fxy(xy[..., 0], xy[..., 1])

    @property
    def min_value(self) -> float | None:
        return float(self.f(jnp.array(self.minima[0]))) if self.minima else None


def _bowl(kappa):
    return lambda x, y: 0.5 * (x**2 + kappa * y**2)


@lru_cache(maxsize=32)
def ill_conditioned_bowl(kappa: float = 20.0) -> Surface:
    """f = ½ (x² + κ y²): curvatures 1 and κ (the condition number)."""
    kappa = float(kappa)
    return Surface(
        "bowl", f"Ill-conditioned bowl (κ = {kappa:g})", _bowl(kappa), ((-3.0, 3.0), (-2.0, 2.0)),
        ((0.0, 0.0),), rf"f(x, y) = \tfrac12 \left(x^2 + {kappa:g}\, y^2\right)", (-2.8, 1.2),
    )


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _rastrigin(x, y):
    return 20 + x**2 - 10 * jnp.cos(2 * jnp.pi * x) + y**2 - 10 * jnp.cos(2 * jnp.pi * y)


def _saddle(x, y):
    return x**2 - y**2


def _monkey_saddle(x, y):
    return x**3 - 3 * x * y**2


def _plateau(x, y):
    return 1 - jnp.exp(-(x**2 + y**2) / 2)


def _six_hump_camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _ackley(x, y):
    # The 1e-12 keeps the gradient at the minimum finite (the norm is not differentiable at 0).
    r = jnp.sqrt(0.5 * (x**2 + y**2) + 1e-12)
    return -20 * jnp.exp(-0.2 * r) - jnp.exp(0.5 * (jnp.cos(2 * jnp.pi * x) + jnp.cos(2 * jnp.pi * y))) + jnp.e + 20


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


# The narrow pit's minimum: 0.4 (x − 0.8) + 120 x e^{−200 x²} = 0 on y = 0 (Newton in float64).
SHARP_X = 0.002661562978593819


def _sharp_flat(x, y):
    """A long valley, flat along x (curvature 0.4) and steeper across (20), whose minimum (0.8, 0) is
    wide, minus a narrow Gaussian pit (width σ = 0.05, curvature 120) at the origin on its floor."""
    return 0.2 * (x - 0.8) ** 2 + 10 * y**2 - 0.3 * jnp.exp(-200 * (x**2 + y**2))


def _goldstein_price(x, y):
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


SURFACES: dict[str, Surface] = {
    s.name: s
    for s in [
        ill_conditioned_bowl(20.0),
        Surface(
            "rosenbrock", "Rosenbrock", _rosenbrock, ((-2.0, 2.0), (-1.0, 3.0)), ((1.0, 1.0),),
            r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2", (-1.5, 2.5),
            log_levels=True,
        ),
        Surface(
            "beale", "Beale", _beale, ((-4.5, 4.5), (-4.5, 4.5)), ((3.0, 0.5),),
            r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2", (-1.0, 1.5),
            log_levels=True,
        ),
        Surface(
            "himmelblau", "Himmelblau", _himmelblau, ((-5.0, 5.0), (-5.0, 5.0)),
            ((3.0, 2.0), (-2.805118086952745, 3.131312518250573),
             (-3.779310253377747, -3.283185991286170), (3.584428340330492, -1.848126526964404)),
            r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2", (0.0, -0.5),
            log_levels=True,
        ),
        Surface(
            "rastrigin", "Rastrigin", _rastrigin, ((-5.12, 5.12), (-5.12, 5.12)), ((0.0, 0.0),),
            r"f(x, y) = 20 + \sum_{u \in \{x, y\}} \left(u^2 - 10 \cos 2\pi u\right)", (3.2, 2.3),
        ),
        Surface(
            "saddle", "Saddle", _saddle, ((-2.0, 2.0), (-2.0, 2.0)), (),
            r"f(x, y) = x^2 - y^2", (-1.8, 0.05),
        ),
        Surface(
            "monkey_saddle", "Monkey saddle", _monkey_saddle, ((-2.0, 2.0), (-2.0, 2.0)), (),
            r"f(x, y) = x^3 - 3 x y^2", (1.5, 0.1),
        ),
        Surface(
            "plateau", "Plateau", _plateau, ((-5.0, 5.0), (-5.0, 5.0)), ((0.0, 0.0),),
            r"f(x, y) = 1 - e^{-(x^2 + y^2)/2}", (4.0, 3.2),
        ),
        Surface(
            "six_hump_camel", "Six-hump camel", _six_hump_camel, ((-2.0, 2.0), (-1.1, 1.1)),
            ((0.08984201368301331, -0.7126564032704135), (-0.08984201368301331, 0.7126564032704135)),
            r"f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (4y^2 - 4)\,y^2", (-1.6, 0.9),
        ),
        Surface(
            "ackley", "Ackley", _ackley, ((-4.0, 4.0), (-4.0, 4.0)), ((0.0, 0.0),),
            r"f(x, y) = -20 e^{-0.2\sqrt{(x^2 + y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20",
            (2.6, -3.1),
        ),
        Surface(
            "booth", "Booth", _booth, ((-10.0, 10.0), (-10.0, 10.0)), ((1.0, 3.0),),
            r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2", (-8.0, -7.0),
        ),
        Surface(
            "goldstein_price", "Goldstein–Price", _goldstein_price, ((-2.0, 2.0), (-2.0, 2.0)),
            ((0.0, -1.0),),
            r"f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
            r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]",
            (-1.2, 1.2),
            log_levels=True,
        ),
        Surface(
            "sharp_flat", "Sharp and flat minima", _sharp_flat, ((-1.2, 1.2), (-0.6, 0.6)), ((SHARP_X, 0.0),),
            r"f(x, y) = 0.2\,(x - 0.8)^2 + 10\,y^2 - 0.3\, e^{-200\,(x^2 + y^2)}", (-0.7, 0.4),
            local_minima=((0.8, 0.0),),
        ),
    ]
}
