"""The rules of the last decade, registered into ``optim.rules.OPTIMIZERS`` beside the course's nine:
AMSGrad, Adadelta, RAdam, Lion, schedule-free AdamW, Muon and SAM.

Same contract as ``optim.rules``: an (init, step) pair over pytrees, hyperparameters traced in
``hp``, ``t`` counting updates from 1, and, where a rule has an ε under a square root, the course's
place for it (inside the root, as Adam's) by default and ``convention="pytorch"`` for ε outside.
Each step's docstring states its formula; the tests (tests/test_rules_modern.py) hold them to
optax and to hand computations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optim.rules import (
    _ADAM_COURSE,
    BETA,
    BETA1,
    BETA2,
    CONVENTIONS,
    EPS,
    LR,
    OPTIMIZERS,
    WEIGHT_DECAY,
    AdamState,
    HParam,
    Optimizer,
    _adam_moments,
    _denominator,
    _t0,
    _tuple_latex,
    _zeros,
    adam_init,
    bias_corrections,
    dtype_of,
    global_norm,
)

tmap = jax.tree.map

RHO = HParam("rho", r"\rho", 0.05, 0.0, 1.0, "linear", "radius of the sharpness probe")


# --- AMSGrad -----------------------------------------------------------------------------------------


class AMSGradState(NamedTuple):
    t: jax.Array
    v: Any
    s: Any
    s_max: Any


def amsgrad_init(params) -> AMSGradState:
    return AMSGradState(_t0(), _zeros(params), _zeros(params), _zeros(params))


def amsgrad_step(grad_fn, params, state: AMSGradState, hp, convention="course"):
    """AMSGrad: Adam's v and s, v̂ = v / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ), then
    ŝ_max := max(ŝ_max, ŝ),  W := W − α v̂ / sqrt(ŝ_max + ε): the denominator never shrinks, so a
    rare large gradient is not forgotten.  (optax's form: the maximum of the bias-corrected ŝ;
    PyTorch keeps the maximum of s and corrects it at the current t.)  pytorch: / (sqrt(ŝ_max) + ε)."""
    adam = _adam_moments(grad_fn(params), AdamState(state.t, state.v, state.s), hp)
    c1, c2 = bias_corrections(adam.t, hp["beta1"], hp["beta2"], dtype_of(adam.v))
    s_max = tmap(lambda m, s: jnp.maximum(m, s / c2), state.s_max, adam.s)
    new = tmap(lambda w, v, m: w - hp["lr"] * (v / c1) / _denominator(m, hp["eps"], convention),
               params, adam.v, s_max)
    return new, AMSGradState(adam.t, adam.v, adam.s, s_max)


# --- Adadelta ----------------------------------------------------------------------------------------


class AdadeltaState(NamedTuple):
    t: jax.Array
    s: Any  # E[dW²]
    d: Any  # E[Δ²]


def adadelta_init(params) -> AdadeltaState:
    return AdadeltaState(_t0(), _zeros(params), _zeros(params))


def adadelta_step(grad_fn, params, state: AdadeltaState, hp, convention="course"):
    """Adadelta: E[dW²] := β E[dW²] + (1 − β) dW²,  Δ = −sqrt(E[Δ²] + ε) / sqrt(E[dW²] + ε) · dW,
    E[Δ²] := β E[Δ²] + (1 − β) Δ²,  W := W + α Δ.  The step carries its own units (those of W):
    α = 1 is Zeiler's rule, which has no learning rate."""
    g = grad_fn(params)
    beta, eps = hp["beta"], hp["eps"]
    s = tmap(lambda s, g: beta * s + (1 - beta) * g * g, state.s, g)
    delta = tmap(lambda d, s, g: -jnp.sqrt(d + eps) / jnp.sqrt(s + eps) * g, state.d, s, g)
    d = tmap(lambda d, x: beta * d + (1 - beta) * x * x, state.d, delta)
    new = tmap(lambda w, x: w + hp["lr"] * x, params, delta)
    return new, AdadeltaState(state.t + 1, s, d)


# --- RAdam -------------------------------------------------------------------------------------------

RADAM_THRESHOLD = 5.0  # optax's and PyTorch's (the paper writes ρ_t > 4)


def radam_rectifier(t, beta2):
    """(ρ_t, r_t): ρ∞ = 2 / (1 − β₂) − 1,  ρ_t = ρ∞ − 2 t β₂ᵗ / (1 − β₂ᵗ),
    r_t = sqrt((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t)) (meaningful when ρ_t ≥ 5)."""
    rho_inf = 2 / (1 - beta2) - 1
    b2t = beta2**t
    rho = rho_inf - 2 * t * b2t / (1 - b2t)
    safe = jnp.maximum(rho, RADAM_THRESHOLD)
    r = jnp.sqrt((safe - 4) * (safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe))
    return rho, r


def radam_step(grad_fn, params, state: AdamState, hp, convention="course"):
    """RAdam (rectified Adam): Adam's v, s, v̂, ŝ; while the variance of ŝ is intractable
    (ρ_t < 5, the first few steps) W := W − α v̂ (momentum alone); then
    W := W − α r_t v̂ / sqrt(ŝ + ε), r_t rising to 1 (``radam_rectifier``): a warm-up built in.
    pytorch: / (sqrt(ŝ) + ε)."""
    state = _adam_moments(grad_fn(params), state, hp)
    dtype = dtype_of(state.v)
    c1, c2 = bias_corrections(state.t, hp["beta1"], hp["beta2"], dtype)
    rho, r = radam_rectifier(jnp.asarray(state.t, dtype), hp["beta2"])
    adaptive = rho >= RADAM_THRESHOLD
    new = tmap(
        lambda w, v, s: w - hp["lr"] * jnp.where(
            adaptive, r * (v / c1) / _denominator(s / c2, hp["eps"], convention), v / c1),
        params, state.v, state.s,
    )
    return new, state


# --- Lion --------------------------------------------------------------------------------------------


class LionState(NamedTuple):
    t: jax.Array
    m: Any


def lion_init(params) -> LionState:
    return LionState(_t0(), _zeros(params))


def lion_step(grad_fn, params, state: LionState, hp, convention="course"):
    """Lion (sign momentum): c = β₁ m + (1 − β₁) dW,  W := W − α (sign(c) + λ W),
    m := β₂ m + (1 − β₂) dW.  Every coordinate moves by exactly α (plus the decay)."""
    g = grad_fn(params)
    b1, b2, lr, wd = hp["beta1"], hp["beta2"], hp["lr"], hp["weight_decay"]
    new = tmap(lambda w, m, g: w - lr * (jnp.sign(b1 * m + (1 - b1) * g) + wd * w), params, state.m, g)
    m = tmap(lambda m, g: b2 * m + (1 - b2) * g, state.m, g)
    return new, LionState(state.t + 1, m)


# --- schedule-free AdamW -----------------------------------------------------------------------------

SF_WEIGHT_POWER = 2.0  # the weight of each step in the average is α_max², as in the paper and optax


class ScheduleFreeState(NamedTuple):
    t: jax.Array
    z: Any  # the base sequence (plain Adam-scaled steps, no momentum)
    s: Any  # the second moment
    weight_sum: jax.Array
    lr_max: jax.Array


def schedule_free_init(params) -> ScheduleFreeState:
    zero = jnp.zeros([], dtype_of(params))
    return ScheduleFreeState(_t0(), tmap(jnp.asarray, params), _zeros(params), zero, zero)


def schedule_free_y(params, state: ScheduleFreeState, beta1):
    """y = (1 − β₁) z + β₁ x: where the next gradient is taken."""
    return tmap(lambda x, z: (1 - beta1) * z + beta1 * x, params, state.z)


def schedule_free_step(grad_fn, params, state: ScheduleFreeState, hp, convention="course"):
    """Schedule-free AdamW (Defazio et al., 2024).  The parameters W of a run are x, the average,
    where the loss is evaluated (what a run records and a page draws; ``points``); the gradient is
    taken at y = (1 − β₁) z + β₁ x:
    s := β₂ s + (1 − β₂) dW(y)²,  ŝ = s / (1 − β₂ᵗ),  z := z − α (dW(y) / sqrt(ŝ + ε) + λ y),
    α_max := max(α_max, α),  c = α_max² / Σ α_max²,  x := (1 − c) x + c z.
    No schedule: the average x plays the part of the decay.  pytorch: / (sqrt(ŝ) + ε)."""
    b1, b2, lr, eps, wd = hp["beta1"], hp["beta2"], hp["lr"], hp["eps"], hp["weight_decay"]
    y = schedule_free_y(params, state, b1)
    g = grad_fn(y)
    t = state.t + 1
    dtype = dtype_of(params)
    _, c2 = bias_corrections(t, b1, b2, dtype)
    s = tmap(lambda s, g: b2 * s + (1 - b2) * g * g, state.s, g)
    z = tmap(lambda z, g, s, y: z - lr * (g / _denominator(s / c2, eps, convention) + wd * y), state.z, g, s, y)
    lr_max = jnp.maximum(state.lr_max, jnp.asarray(lr, dtype))
    weight = lr_max**SF_WEIGHT_POWER
    weight_sum = state.weight_sum + weight
    c = jnp.where(weight_sum > 0, weight / jnp.where(weight_sum > 0, weight_sum, 1), 0.0).astype(dtype)
    x = tmap(lambda x, z: (1 - c) * x + c * z, params, z)
    return x, ScheduleFreeState(t, z, s, weight_sum.astype(dtype), lr_max)


def points(name: str, params, state, hp) -> dict[str, Any]:
    """The points a rule keeps, by name, for a page to draw (params and state may carry a leading
    axis of steps).  Every rule: ``W`` (the parameters a run records).  Schedule-free: ``x``
    (= W, where the loss is evaluated: the one to draw as the run's path), ``y`` (where the
    gradient is taken) and ``z`` (the base sequence)."""
    if name != "schedule_free":
        return {"W": params}
    return {"W": params, "x": params, "y": schedule_free_y(params, state, hp["beta1"]), "z": state.z}


# --- Muon --------------------------------------------------------------------------------------------

NS_COEFFS = (3.4445, -4.7750, 2.0315)  # Jordan et al.'s quintic, as in optax.contrib.muon
NS_STEPS = 5


class MuonState(NamedTuple):
    t: jax.Array
    v: Any  # momentum (every leaf)
    s: Any  # the Adam fallback's second moment (leaves that are not matrices)


def muon_init(params) -> MuonState:
    return MuonState(_t0(), _zeros(params), _zeros(params))


def newton_schulz(G, eps, steps: int = NS_STEPS):
    """X ≈ U Vᵀ for G = U Σ Vᵀ: X₀ = G / (‖G‖_F + ε), then ``steps`` times
    A = X Xᵀ,  X := a X + (b A + c A²) X  with (a, b, c) = (3.4445, −4.7750, 2.0315), on the wide
    orientation (Gᵀ when G has more rows than columns).  The quintic pushes every singular value
    towards [0.7, 1.2] quickly rather than to 1 exactly.  A 1 × n matrix has one singular value:
    orthogonalizing it only normalizes it (X ∝ G / ‖G‖)."""
    a, b, c = NS_COEFFS
    wide = G.shape[0] <= G.shape[1]
    X = G if wide else G.T
    X = X / (jnp.linalg.norm(X) + eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X if wide else X.T


def muon_step(grad_fn, params, state: MuonState, hp, convention="course"):
    """Muon: for a weight matrix W (n_in × n_out), Nesterov momentum then orthogonalized:
    v := β v + (1 − β) dW,  v̄ = β v / (1 − βᵗ⁺¹) + (1 − β) dW / (1 − βᵗ),
    W := W − α sqrt(max(1, n_out / n_in)) · NS(v̄)  (``newton_schulz``: every singular value of the
    step near 1, whatever the gradient's).  Leaves that are not matrices (biases, batch-norm γ and
    β, and the 2-D surfaces' point, a single vector) take the Adam fallback used in practice
    (optax's: Nadam with β₁, β₂, ε).  So on the 2-D surfaces Muon is that Nadam; orthogonalizing
    the point as a 1 × 2 matrix would only normalize its momentum.  pytorch: the fallback's ε
    outside the root."""
    g = grad_fn(params)
    t = state.t + 1
    lr, beta, b1, b2, eps = hp["lr"], hp["beta"], hp["beta1"], hp["beta2"], hp["eps"]
    dtype = dtype_of(params)
    tf = jnp.asarray(t, dtype)

    def one(w, v, s, g):
        if jnp.ndim(w) == 2:
            v = beta * v + (1 - beta) * g
            v_bar = beta * v / (1 - beta ** (tf + 1)) + (1 - beta) * g / (1 - beta**tf)
            n_in, n_out = jnp.shape(w)
            return w - lr * max(1.0, n_out / n_in) ** 0.5 * newton_schulz(v_bar, eps), v, s
        v = b1 * v + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        v_bar = b1 * v / (1 - b1 ** (tf + 1)) + (1 - b1) * g / (1 - b1**tf)
        return w - lr * v_bar / _denominator(s / (1 - b2**tf), eps, convention), v, s

    leaves, tree = jax.tree.flatten(params)
    out = [one(*a) for a in zip(leaves, *(tree.flatten_up_to(x) for x in (state.v, state.s, g)))]
    new, v, s = (tree.unflatten([o[i] for o in out]) for i in range(3))
    return new, MuonState(t, v, s)


# --- SAM ---------------------------------------------------------------------------------------------


def sam_perturbation(g, rho):
    """ε = ρ g / ‖g‖ (‖·‖ over every leaf; ε = 0 where g = 0)."""
    n = global_norm(g)
    scale = jnp.where(n > 0, rho / jnp.where(n > 0, n, 1), 0.0)
    return tmap(lambda g: scale * g, g)


def sam_over(base: str | Optimizer = "gd") -> Optimizer:
    """SAM around the rule ``base``: the base rule's update, fed the gradient taken at the top of
    the ρ-ball instead of at W.  ``sam_over("gd")`` is the registry's ``sam``; over momentum or Adam
    (as SAM is used in practice) it is named ``sam_<base>``, usable in every runner (not listed
    in the registry: the pages offer ``sam``).  A base rule that reads its gradient elsewhere than
    at W (Nesterov's look-ahead, schedule-free's y) is refused."""
    base = OPTIMIZERS[base] if isinstance(base, str) else base
    if base.name in ("nesterov", "schedule_free", "sam"):
        raise ValueError(f"SAM over {base.label} is not defined here: it reads its gradient away from W")

    def sam_step(grad_fn, params, state, hp, convention="course"):
        """SAM (sharpness-aware minimization): ε = ρ dW / ‖dW‖, then the base rule's update with
        the gradient at W + ε in place of dW: it descends the worst loss within a ball of radius ρ,
        preferring flat minima (two gradients per step)."""
        eps = sam_perturbation(grad_fn(params), hp["rho"])
        g_sam = grad_fn(tmap(lambda w, e: w + e, params, eps))
        return base.step_fn(lambda p: g_sam, params, state, hp, convention)

    over = "" if base.name == "gd" else f" over {base.label}"
    base_eqs = dict(base.latex)
    latex = _tuple_latex({
        c: [r"\varepsilon = \rho\, \frac{dW}{\lVert dW \rVert}", r"dW := \nabla L(W + \varepsilon)", *base_eqs[c]]
        for c in base.conventions
    })
    return Optimizer(
        "sam" if base.name == "gd" else f"sam_{base.name}", f"SAM{over}", base.init_fn, sam_step,
        base.hparams + (RHO,), latex, base.conventions,
        year=2021, paper="Foret, Kleiner, Mobahi & Neyshabur, Sharpness-Aware Minimization for Efficiently "
        "Improving Generalization",
        idea="Take the gradient at the worst point of a small ball around W: prefer wide, flat valleys.",
    )


# --- the registry --------------------------------------------------------------------------------------

_ADAM_MOMENTS = _ADAM_COURSE  # v, s and their bias corrections, as Adam writes them


def _eps_forms(top: str, den: str) -> dict[str, str]:
    """{course: top / sqrt(den + ε), pytorch: top / (sqrt(den) + ε)}."""
    return {"course": rf"\frac{{{top}}}{{\sqrt{{{den} + \varepsilon}}}}",
            "pytorch": rf"\frac{{{top}}}{{\sqrt{{{den}}} + \varepsilon}}"}


_AMS = _eps_forms(r"\hat v", r"\hat s_{\max}")
_RADAM = _eps_forms(r"\hat v", r"\hat s")
_SF = _eps_forms(r"dW(y)", r"\hat s")
_MUON_ADAM = _eps_forms(r"\bar v", r"\hat s")
_MUON = [
    r"v := \beta v + (1-\beta)\, dW",
    r"\bar v = \frac{\beta v}{1-\beta^{\,t+1}} + \frac{(1-\beta)\, dW}{1-\beta^{\,t}}",
    r"W := W - \alpha \sqrt{\max(1, n_{out}/n_{in})}\; \mathrm{NS}_5(\bar v)"
    r"\quad \text{(matrices; } \mathrm{NS}_5(\bar v) \approx U V^\top \text{ for } \bar v = U \Sigma V^\top)",
]

MODERN: list[Optimizer] = [
    Optimizer(
        "amsgrad", "AMSGrad", amsgrad_init, amsgrad_step, (LR, BETA1, BETA2, EPS),
        _tuple_latex({c: [*_ADAM_MOMENTS, r"\hat s_{\max} := \max(\hat s_{\max}, \hat s)",
                          r"W := W - \alpha " + _AMS[c]] for c in CONVENTIONS}),
        CONVENTIONS, year=2018, paper="Reddi, Kale & Kumar, On the Convergence of Adam and Beyond",
        idea="Adam whose denominator never shrinks: a rare large gradient is not forgotten.",
    ),
    Optimizer(
        "adadelta", "Adadelta", adadelta_init, adadelta_step,
        (replace(LR, default=1.0), BETA, replace(EPS, default=1e-6)),
        _tuple_latex({"course": [
            r"E[dW^2] := \beta\, E[dW^2] + (1-\beta)\, dW^2",
            r"\Delta = -\frac{\sqrt{E[\Delta^2] + \varepsilon}}{\sqrt{E[dW^2] + \varepsilon}}\, dW",
            r"E[\Delta^2] := \beta\, E[\Delta^2] + (1-\beta)\, \Delta^2",
            r"W := W + \alpha \Delta",
        ]}),
        year=2012, paper="Zeiler, ADADELTA: An Adaptive Learning Rate Method",
        idea="RMSprop whose step size is the running size of its own past steps: no learning rate (α = 1).",
    ),
    Optimizer(
        "radam", "RAdam", adam_init, radam_step, (LR, BETA1, BETA2, EPS),
        _tuple_latex({c: [*_ADAM_MOMENTS,
                          r"\rho_\infty = \tfrac{2}{1-\beta_2} - 1, \quad "
                          r"\rho_t = \rho_\infty - \frac{2 t \beta_2^{\,t}}{1-\beta_2^{\,t}}",
                          r"r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}",
                          r"W := W - \alpha \begin{cases} r_t " + _RADAM[c] + r" & \rho_t \ge 5 \\ "
                          r"\hat v & \text{otherwise} \end{cases}"] for c in CONVENTIONS}),
        CONVENTIONS, year=2020,
        paper="Liu, Jiang, He, Chen, Liu, Gao & Han, On the Variance of the Adaptive Learning Rate and Beyond",
        idea="Adam that waits until its second moment is trustworthy: a warm-up derived, not tuned.",
    ),
    Optimizer(
        "lion", "Lion", lion_init, lion_step, (replace(LR, default=0.01), BETA1, replace(BETA2, default=0.99),
                                              replace(WEIGHT_DECAY, default=0.0)),
        _tuple_latex({"course": [
            r"c = \beta_1 m + (1-\beta_1)\, dW",
            r"W := W - \alpha \left(\operatorname{sign}(c) + \lambda W\right)",
            r"m := \beta_2 m + (1-\beta_2)\, dW",
        ]}),
        year=2023, paper="Chen, Liang, Huang, Real, Wang, Pham, Dong, Luong, Hsieh, Lu & Le, "
        "Symbolic Discovery of Optimization Algorithms",
        idea="Keep only the sign of a momentum: every coordinate moves by exactly ±α.",
    ),
    Optimizer(
        "schedule_free", "Schedule-free AdamW", schedule_free_init, schedule_free_step,
        (LR, BETA1, BETA2, EPS, replace(WEIGHT_DECAY, default=0.0)),
        _tuple_latex({c: [
            r"y = (1-\beta_1)\, z + \beta_1 x",
            r"s := \beta_2 s + (1-\beta_2)\, dW(y)^2, \quad \hat s = \frac{s}{1-\beta_2^{\,t}}",
            r"z := z - \alpha \Big(" + _SF[c] + r" + \lambda y\Big)",
            r"c = \frac{\alpha_{\max}^2}{\sum_{k \le t} \alpha_{\max,k}^2}, \quad x := (1-c)\, x + c\, z "
            r"\quad (W = x)",
        ] for c in CONVENTIONS}),
        CONVENTIONS, year=2024,
        paper="Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, The Road Less Scheduled",
        idea="Average the iterates instead of decaying α: the answer is good at any step, no schedule needed.",
    ),
    Optimizer(
        "muon", "Muon", muon_init, muon_step,
        (replace(LR, default=0.02), replace(BETA, default=0.95), BETA1, BETA2, EPS),
        _tuple_latex({c: [*_MUON, r"\text{vectors (the 2-D surfaces' point): Nadam, } "
                                  r"W := W - \alpha " + _MUON_ADAM[c]] for c in CONVENTIONS}),
        CONVENTIONS, year=2024,
        paper="Jordan, Jin, Boza, You, Cesista, Newhouse & Bernstein, Muon: An optimizer for hidden layers "
        "in neural networks",
        idea="Orthogonalize each weight matrix's momentum: every direction of the step gets the same size. "
        "A vector has one direction: on the 2-D surfaces Muon falls back to Nadam, as it does for biases.",
    ),
    sam_over("gd"),
]

for _o in MODERN:
    OPTIMIZERS[_o.name] = _o
