"""Update rules, one (init, step) pair per optimizer, over pytrees of parameters.

Every rule's default convention is the course's formula (COURSE.md) to the letter; the other
common convention (PyTorch / optax) is the option ``convention="pytorch"``.  A rule's step reads
``grad_fn(params) -> grads`` (Nesterov needs the gradient somewhere else than at ``W``) and the
hyperparameters ``hp``: a mapping of scalars, traced under ``jit`` so that moving a slider
never recompiles.  ``t`` is the step counter, starting at 1 for the first update.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp

tmap = jax.tree.map

CONVENTIONS = ("course", "pytorch")
CLIPS = ("none", "value", "norm")


def _zeros(params):
    return tmap(jnp.zeros_like, params)


def _t0():
    return jnp.zeros([], jnp.int32)


# --- states -------------------------------------------------------------------------------


class GDState(NamedTuple):
    t: jax.Array


class MomentumState(NamedTuple):
    t: jax.Array
    v: Any


class RMSpropState(NamedTuple):
    t: jax.Array
    s: Any


class AdamState(NamedTuple):
    t: jax.Array
    v: Any
    s: Any


class AdamaxState(NamedTuple):
    t: jax.Array
    v: Any
    u: Any


# --- gradient clipping (an option of every rule) ----------------------------------------------


def global_norm(tree) -> jax.Array:
    """‖g‖ = sqrt(Σ over every leaf and element of g²)."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def clip_by_value(grads, c):
    """g := min(max(g, −c), c), element-wise."""
    return tmap(lambda g: jnp.clip(g, -c, c), grads)


def clip_by_global_norm(grads, c):
    """g := g · c / max(‖g‖, c): unchanged when ‖g‖ ≤ c, rescaled to norm c otherwise."""
    scale = c / jnp.maximum(global_norm(grads), c)
    return tmap(lambda g: g * scale, grads)


def clipped(grad_fn: Callable, clip: str, c) -> Callable:
    """``grad_fn`` whose result is clipped as ``clip`` says (``none``, ``value``, ``norm``)."""
    if clip == "none":
        return grad_fn
    if clip == "value":
        return lambda p: clip_by_value(grad_fn(p), c)
    if clip == "norm":
        return lambda p: clip_by_global_norm(grad_fn(p), c)
    raise ValueError(f"unknown clipping {clip!r}; choose one of {CLIPS}")


# --- the rules ---------------------------------------------------------------------------------


def gd_init(params) -> GDState:
    return GDState(_t0())


def gd_step(grad_fn, params, state: GDState, hp, convention="course"):
    """Gradient descent: W := W − α dW."""
    g = grad_fn(params)
    lr = hp["lr"]
    return tmap(lambda w, g: w - lr * g, params, g), GDState(state.t + 1)


def momentum_init(params) -> MomentumState:
    return MomentumState(_t0(), _zeros(params))


def momentum_step(grad_fn, params, state: MomentumState, hp, convention="course"):
    """Momentum.  course: v := β v + (1 − β) dW,  W := W − α v  (v₀ = 0).
    pytorch: v := β v + dW,  W := W − α v  (the same path with learning rate α (1 − β))."""
    g = grad_fn(params)
    lr, beta = hp["lr"], hp["beta"]
    if convention == "course":
        v = tmap(lambda v, g: beta * v + (1 - beta) * g, state.v, g)
    else:
        v = tmap(lambda v, g: beta * v + g, state.v, g)
    return tmap(lambda w, v: w - lr * v, params, v), MomentumState(state.t + 1, v)


def nesterov_step(grad_fn, params, state: MomentumState, hp, convention="course"):
    """Nesterov accelerated gradient.
    course: v := β v + (1 − β) ∇L(W − α β v),  W := W − α v.
    pytorch (optax): g = ∇L(W),  v := β v + g,  W := W − α (g + β v)  (tracks the look-ahead)."""
    lr, beta = hp["lr"], hp["beta"]
    if convention == "course":
        look_ahead = tmap(lambda w, v: w - lr * beta * v, params, state.v)
        g = grad_fn(look_ahead)
        v = tmap(lambda v, g: beta * v + (1 - beta) * g, state.v, g)
        new = tmap(lambda w, v: w - lr * v, params, v)
    else:
        g = grad_fn(params)
        v = tmap(lambda v, g: beta * v + g, state.v, g)
        new = tmap(lambda w, g, v: w - lr * (g + beta * v), params, g, v)
    return new, MomentumState(state.t + 1, v)


def _denominator(s, eps, convention):
    """course: sqrt(s + ε) (ε inside the root); pytorch: sqrt(s) + ε."""
    return jnp.sqrt(s + eps) if convention == "course" else jnp.sqrt(s) + eps


def rmsprop_init(params) -> RMSpropState:
    return RMSpropState(_t0(), _zeros(params))


def rmsprop_step(grad_fn, params, state: RMSpropState, hp, convention="course"):
    """RMSprop: s := β s + (1 − β) dW²,  W := W − α dW / sqrt(s + ε)  (s₀ = 0).
    pytorch: W := W − α dW / (sqrt(s) + ε)."""
    g = grad_fn(params)
    lr, beta, eps = hp["lr"], hp["beta"], hp["eps"]
    s = tmap(lambda s, g: beta * s + (1 - beta) * g * g, state.s, g)
    new = tmap(lambda w, g, s: w - lr * g / _denominator(s, eps, convention), params, g, s)
    return new, RMSpropState(state.t + 1, s)


def adam_init(params) -> AdamState:
    return AdamState(_t0(), _zeros(params), _zeros(params))


def _adam_moments(g, state: AdamState, hp):
    """v := β₁ v + (1 − β₁) dW,  s := β₂ s + (1 − β₂) dW²,  t := t + 1."""
    b1, b2 = hp["beta1"], hp["beta2"]
    v = tmap(lambda v, g: b1 * v + (1 - b1) * g, state.v, g)
    s = tmap(lambda s, g: b2 * s + (1 - b2) * g * g, state.s, g)
    return AdamState(state.t + 1, v, s)


def dtype_of(tree):
    """The floating dtype of a pytree's first leaf: float32, or float64 under ``jax_enable_x64``
    when the parameters are float64.  Scalars a rule computes (bias corrections) take it, so that
    the state keeps the parameters' precision (a float64 factor would promote float32 leaves)."""
    return jnp.result_type(jax.tree.leaves(tree)[0])


def bias_corrections(t, beta1, beta2, dtype=jnp.float32):
    """(1 − β₁ᵗ, 1 − β₂ᵗ): what v and s are divided by at step t (t from 1)."""
    tf = jnp.asarray(t, dtype)
    return 1 - beta1**tf, 1 - beta2**tf


def _adam_direction(state: AdamState, hp, convention):
    """v̂ / sqrt(ŝ + ε) with v̂ = v / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ)."""
    c1, c2 = bias_corrections(state.t, hp["beta1"], hp["beta2"], dtype_of(state.v))
    return tmap(lambda v, s: (v / c1) / _denominator(s / c2, hp["eps"], convention), state.v, state.s)


def adam_step(grad_fn, params, state: AdamState, hp, convention="course"):
    """Adam: v := β₁ v + (1 − β₁) dW,  s := β₂ s + (1 − β₂) dW²,
    v̂ = v / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ),  W := W − α v̂ / sqrt(ŝ + ε).
    pytorch: W := W − α v̂ / (sqrt(ŝ) + ε)."""
    state = _adam_moments(grad_fn(params), state, hp)
    d = _adam_direction(state, hp, convention)
    return tmap(lambda w, d: w - hp["lr"] * d, params, d), state


def adamw_step(grad_fn, params, state: AdamState, hp, convention="course"):
    """AdamW (decoupled weight decay): Adam's moments, then W := W − α (v̂ / sqrt(ŝ + ε) + λ W)."""
    state = _adam_moments(grad_fn(params), state, hp)
    d = _adam_direction(state, hp, convention)
    lr, wd = hp["lr"], hp["weight_decay"]
    return tmap(lambda w, d: w - lr * (d + wd * w), params, d), state


def nadam_step(grad_fn, params, state: AdamState, hp, convention="course"):
    """Nadam: Adam with a Nesterov look-ahead on the first moment,
    v̄ = β₁ v / (1 − β₁ᵗ⁺¹) + (1 − β₁) dW / (1 − β₁ᵗ),  W := W − α v̄ / sqrt(ŝ + ε)."""
    g = grad_fn(params)
    state = _adam_moments(g, state, hp)
    b1, eps = hp["beta1"], hp["eps"]
    dtype = dtype_of(state.v)
    c1, c2 = bias_corrections(state.t, b1, hp["beta2"], dtype)
    c1_next = 1 - b1 ** (jnp.asarray(state.t, dtype) + 1)
    new = tmap(
        lambda w, g, v, s: w
        - hp["lr"] * (b1 * v / c1_next + (1 - b1) * g / c1) / _denominator(s / c2, eps, convention),
        params, g, state.v, state.s,
    )
    return new, state


def adamax_init(params) -> AdamaxState:
    return AdamaxState(_t0(), _zeros(params), _zeros(params))


def adamax_step(grad_fn, params, state: AdamaxState, hp, convention="course"):
    """Adamax (infinity norm): v := β₁ v + (1 − β₁) dW,  u := max(β₂ u, |dW| + ε),
    W := W − α / (1 − β₁ᵗ) · v / u.  ε only keeps u away from zero (as in optax)."""
    g = grad_fn(params)
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    v = tmap(lambda v, g: b1 * v + (1 - b1) * g, state.v, g)
    u = tmap(lambda u, g: jnp.maximum(b2 * u, jnp.abs(g) + eps), state.u, g)
    t = state.t + 1
    c1, _ = bias_corrections(t, b1, b2, dtype_of(v))
    new = tmap(lambda w, v, u: w - hp["lr"] / c1 * v / u, params, v, u)
    return new, AdamaxState(t, v, u)


def adagrad_init(params) -> RMSpropState:
    return RMSpropState(_t0(), _zeros(params))


def adagrad_step(grad_fn, params, state: RMSpropState, hp, convention="course"):
    """AdaGrad: s := s + dW²,  W := W − α dW / sqrt(s + ε).  pytorch: / (sqrt(s) + ε)."""
    g = grad_fn(params)
    s = tmap(lambda s, g: s + g * g, state.s, g)
    new = tmap(lambda w, g, s: w - hp["lr"] * g / _denominator(s, hp["eps"], convention), params, g, s)
    return new, RMSpropState(state.t + 1, s)


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HParam:
    """A hyperparameter: its name in ``hp``, its symbol, default, slider range and scale."""

    name: str
    symbol: str
    default: float
    low: float
    high: float
    scale: str = "linear"  # "log" (α, ε: positive rates), "log1m" (β: log of 1 − β), "linear"
    help: str = ""


LR = HParam("lr", r"\alpha", 0.01, 1e-4, 2.0, "log", "learning rate")
BETA = HParam("beta", r"\beta", 0.9, 0.0, 0.999, "log1m", "momentum / averaging coefficient")
BETA1 = HParam("beta1", r"\beta_1", 0.9, 0.0, 0.999, "log1m", "first-moment decay")
BETA2 = HParam("beta2", r"\beta_2", 0.999, 0.5, 0.9999, "log1m", "second-moment decay")
EPS = HParam("eps", r"\varepsilon", 1e-8, 1e-12, 1e-1, "log", "guards the division")
WEIGHT_DECAY = HParam("weight_decay", r"\lambda", 0.01, 0.0, 0.5, "linear", "decoupled weight decay")
CLIP = HParam("clip_at", "c", 1.0, 1e-3, 1e3, "log", "clipping threshold")


@dataclass(frozen=True, eq=False)
class Optimizer:
    """A registry entry: the rule, its hyperparameters and the LaTeX of its equations.

    ``convention`` and ``clip`` change the code that runs, so they are fields (static under
    ``jit``); hyperparameters are traced values in ``hp``."""

    name: str
    label: str
    init_fn: Callable
    step_fn: Callable
    hparams: tuple[HParam, ...]
    latex: Mapping[str, tuple[str, ...]] | tuple  # convention -> equations
    conventions: tuple[str, ...] = ("course",)
    convention: str = "course"
    clip: str = "none"
    year: int = 0  # of the paper that introduced the rule
    paper: str = ""  # authors, title
    idea: str = ""  # the rule's idea in one line, for the pages

    def __hash__(self):
        return hash((self.name, self.convention, self.clip))

    def __eq__(self, other):
        return isinstance(other, Optimizer) and (self.name, self.convention, self.clip) == (
            other.name, other.convention, other.clip)

    @property
    def defaults(self) -> dict[str, float]:
        return {h.name: h.default for h in self.all_hparams}

    @property
    def all_hparams(self) -> tuple[HParam, ...]:
        """Its hyperparameters, plus the clipping threshold when clipping is on."""
        return self.hparams + ((CLIP,) if self.clip != "none" else ())

    @property
    def equations(self) -> tuple[str, ...]:
        return dict(self.latex)[self.convention]

    def with_options(self, convention: str | None = None, clip: str | None = None) -> "Optimizer":
        convention = convention or self.convention
        clip = clip or self.clip
        if convention not in self.conventions:
            raise ValueError(f"{self.label} has conventions {self.conventions}, not {convention!r}")
        if clip not in CLIPS:
            raise ValueError(f"unknown clipping {clip!r}; choose one of {CLIPS}")
        return replace(self, convention=convention, clip=clip)

    def init(self, params):
        return self.init_fn(params)

    def step(self, grad_fn, params, state, hp):
        """One update: ``(params, state) -> (params, state)``, the gradient read through
        ``grad_fn`` (clipped if this entry clips)."""
        grad_fn = clipped(grad_fn, self.clip, hp.get(CLIP.name, CLIP.default))
        return self.step_fn(grad_fn, params, state, hp, self.convention)


def _tuple_latex(d):
    return tuple((k, tuple(v)) for k, v in d.items())


_ADAM_COURSE = (
    r"v := \beta_1 v + (1-\beta_1)\, dW",
    r"s := \beta_2 s + (1-\beta_2)\, dW^2",
    r"\hat v = \frac{v}{1-\beta_1^{\,t}}, \quad \hat s = \frac{s}{1-\beta_2^{\,t}}",
)

OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in [
        Optimizer(
            "gd", "Gradient descent", gd_init, gd_step, (LR,),
            _tuple_latex({"course": [r"W := W - \alpha\, dW"]}),
            year=1847, paper="Cauchy, Méthode générale pour la résolution des systèmes d'équations simultanées",
            idea="Step straight down the slope: α times the gradient.",
        ),
        Optimizer(
            "momentum", "Momentum", momentum_init, momentum_step, (LR, BETA),
            _tuple_latex({
                "course": [r"v := \beta v + (1-\beta)\, dW", r"W := W - \alpha v"],
                "pytorch": [r"v := \beta v + dW", r"W := W - \alpha v"],
            }),
            CONVENTIONS,
            year=1964, paper="Polyak, Some methods of speeding up the convergence of iteration methods",
            idea="Average the gradients: a heavy ball rolls through ravines and small bumps.",
        ),
        Optimizer(
            "nesterov", "Nesterov (NAG)", momentum_init, nesterov_step, (LR, BETA),
            _tuple_latex({
                "course": [
                    r"v := \beta v + (1-\beta)\, \nabla L(W - \alpha \beta v)",
                    r"W := W - \alpha v",
                ],
                "pytorch": [r"v := \beta v + dW", r"W := W - \alpha\,(dW + \beta v)"],
            }),
            CONVENTIONS,
            year=1983,
            paper="Nesterov, A method for solving the convex programming problem with convergence rate O(1/k²)",
            idea="Take the gradient where momentum is about to carry you, and correct early.",
        ),
        Optimizer(
            "rmsprop", "RMSprop", rmsprop_init, rmsprop_step, (LR, BETA, EPS),
            _tuple_latex({
                "course": [r"s := \beta s + (1-\beta)\, dW^2",
                           r"W := W - \alpha \frac{dW}{\sqrt{s + \varepsilon}}"],
                "pytorch": [r"s := \beta s + (1-\beta)\, dW^2",
                            r"W := W - \alpha \frac{dW}{\sqrt{s} + \varepsilon}"],
            }),
            CONVENTIONS,
            year=2012, paper="Tieleman & Hinton, Neural Networks for Machine Learning, lecture 6.5",
            idea="Divide each coordinate's step by the running size of its gradients.",
        ),
        Optimizer(
            "adam", "Adam", adam_init, adam_step, (LR, BETA1, BETA2, EPS),
            _tuple_latex({
                "course": [*_ADAM_COURSE, r"W := W - \alpha \frac{\hat v}{\sqrt{\hat s + \varepsilon}}"],
                "pytorch": [*_ADAM_COURSE, r"W := W - \alpha \frac{\hat v}{\sqrt{\hat s} + \varepsilon}"],
            }),
            CONVENTIONS,
            year=2015, paper="Kingma & Ba, Adam: A Method for Stochastic Optimization",
            idea="Momentum and RMSprop together, both averages corrected for their start at zero.",
        ),
        Optimizer(
            "adamax", "Adamax", adamax_init, adamax_step, (LR, BETA1, BETA2, EPS),
            _tuple_latex({"course": [
                r"v := \beta_1 v + (1-\beta_1)\, dW",
                r"u := \max(\beta_2 u,\ |dW| + \varepsilon)",
                r"W := W - \frac{\alpha}{1-\beta_1^{\,t}} \frac{v}{u}",
            ]}),
            year=2015, paper="Kingma & Ba, Adam: A Method for Stochastic Optimization",
            idea="Adam with the infinity norm: divide by the largest recent gradient size.",
        ),
        Optimizer(
            "nadam", "Nadam", adam_init, nadam_step, (LR, BETA1, BETA2, EPS),
            _tuple_latex({
                "course": [
                    *_ADAM_COURSE[:2],
                    r"\bar v = \frac{\beta_1 v}{1-\beta_1^{\,t+1}} + \frac{(1-\beta_1)\, dW}{1-\beta_1^{\,t}}",
                    r"W := W - \alpha \frac{\bar v}{\sqrt{\hat s + \varepsilon}}",
                ],
                "pytorch": [
                    *_ADAM_COURSE[:2],
                    r"\bar v = \frac{\beta_1 v}{1-\beta_1^{\,t+1}} + \frac{(1-\beta_1)\, dW}{1-\beta_1^{\,t}}",
                    r"W := W - \alpha \frac{\bar v}{\sqrt{\hat s} + \varepsilon}",
                ],
            }),
            CONVENTIONS,
            year=2016, paper="Dozat, Incorporating Nesterov Momentum into Adam",
            idea="Adam with Nesterov's look-ahead on the first moment.",
        ),
        Optimizer(
            "adagrad", "AdaGrad", adagrad_init, adagrad_step, (replace(LR, default=0.1), EPS),
            _tuple_latex({
                "course": [r"s := s + dW^2", r"W := W - \alpha \frac{dW}{\sqrt{s + \varepsilon}}"],
                "pytorch": [r"s := s + dW^2", r"W := W - \alpha \frac{dW}{\sqrt{s} + \varepsilon}"],
            }),
            CONVENTIONS,
            year=2011,
            paper="Duchi, Hazan & Singer, Adaptive Subgradient Methods for Online Learning and Stochastic Optimization",
            idea="Divide by the sum of all past squared gradients: steps shrink where the slope was steep.",
        ),
        Optimizer(
            "adamw", "AdamW", adam_init, adamw_step, (LR, BETA1, BETA2, EPS, WEIGHT_DECAY),
            _tuple_latex({
                "course": [*_ADAM_COURSE,
                           r"W := W - \alpha \Big(\frac{\hat v}{\sqrt{\hat s + \varepsilon}} + \lambda W\Big)"],
                "pytorch": [*_ADAM_COURSE,
                            r"W := W - \alpha \Big(\frac{\hat v}{\sqrt{\hat s} + \varepsilon} + \lambda W\Big)"],
            }),
            CONVENTIONS,
            year=2019, paper="Loshchilov & Hutter, Decoupled Weight Decay Regularization",
            idea="Adam, with weight decay applied to the weights directly instead of through the gradient.",
        ),
    ]
}


def get_optimizer(name: str | Optimizer) -> Optimizer:
    """The registry entry for ``name`` (an Optimizer passes through)."""
    if isinstance(name, Optimizer):
        return name
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}") from None


def full_hp(opt: Optimizer, hp: Mapping[str, Any]) -> dict[str, Any]:
    """The optimizer's defaults overridden by ``hp``; an unknown name is refused."""
    unknown = set(hp) - set(opt.defaults)
    if unknown:
        raise ValueError(
            f"{opt.label} takes {sorted(opt.defaults)}, not {sorted(unknown)}"
        )
    return {**opt.defaults, **hp}
