"""The vanishing and exploding gradients page's lessons: deep networks at initialization, each a
full configuration of the page and a claim on the gradient norms of its layers.

A lesson's check is ``check(norms) -> Verdict`` on ‖∂J/∂W_l‖ of every layer at initialization
(layer 0 first: ``surfaces.network.layer_norms_at_init``): the ratio first/last lies in the
claimed range, and every layer's norm in the claimed range.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Mapping

import numpy as np

from lessons.core import Lesson, Verdict
from optim.rules import OPTIMIZERS
from surfaces import network as N

PAGE = "gradients"
ANY = (0.0, math.inf)


def settings_of(cfg: N.NetConfig) -> dict[str, Any]:
    """Every page setting of a configuration (its optimizer's other hyperparameters at their defaults)."""
    hps = {f"{cfg.optimizer}.{k}": float(v) for k, v in {**OPTIMIZERS[cfg.optimizer].defaults, "lr": cfg.lr}.items()}
    if len(OPTIMIZERS[cfg.optimizer].conventions) > 1:
        hps[f"{cfg.optimizer}.convention"] = "course"
    return {"act": cfg.activation, "init": cfg.init, "sigma": cfg.sigma, "depth": cfg.depth, "width": cfg.width,
            "bn": cfg.batchnorm, "clip": cfg.clip[0], "clip_c": cfg.clip[1], "opt": cfg.optimizer,
            "epochs": cfg.epochs, "batch": cfg.batch_size, "data": cfg.dataset, "m": cfg.m, "seed": cfg.seed, **hps}


def config_of(v: Mapping[str, Any], lr: float | None = None) -> N.NetConfig:
    """The configuration the page's settings ``v`` describe (``lr``: the optimizer's α, if not in ``v``)."""
    lr = float(v[f"{v['opt']}.lr"] if lr is None else lr)
    return N.NetConfig(v["act"], v["init"], float(v["sigma"]), int(v["depth"]), int(v["width"]), bool(v["bn"]),
                       (v["clip"], float(v["clip_c"])), v["data"], int(v["m"]), N.DATASETS[v["data"]].noise,
                       optimizer=v["opt"], lr=lr, epochs=int(v["epochs"]), batch_size=int(v["batch"]),
                       seed=int(v["seed"]))


def claim_text(ratio_range, norm_range, ratio: float, norms) -> str:
    """What a claim measured: 'first/last = 3.2e-07 (claimed below 0.001)' and/or the range of the
    layers' gradient norms, for the ranges the claim bounds."""
    def claimed(lo, hi):
        return f"above {lo:g}" if hi == np.inf else (f"below {hi:g}" if lo == 0 else f"between {lo:g} and {hi:g}")
    parts = []
    if tuple(ratio_range) != ANY:
        parts.append(f"first/last = {ratio:.1e} (claimed {claimed(*ratio_range)})")
    if tuple(norm_range) != ANY:
        norms = np.asarray(norms, np.float64)
        parts.append(f"layer norms {norms.min():.1e} to {norms.max():.1e} (claimed {claimed(*norm_range)})")
    return "; ".join(parts)


def check_init(norms, ratio_range=ANY, norm_range=ANY) -> Verdict:
    """first/last = ‖∂J/∂W₁‖ / ‖∂J/∂W_out‖ lies in ``ratio_range`` and every layer's norm in ``norm_range``."""
    norms = np.asarray(norms, np.float64)
    ratio = float(norms[0] / norms[-1])
    (lo, hi), (nlo, nhi) = ratio_range, norm_range
    holds = bool(lo <= ratio <= hi and np.all((nlo <= norms) & (norms <= nhi)))
    return Verdict(holds, claim_text(ratio_range, norm_range, ratio, norms))


def _lesson(key: str, title: str, text: str, claim: str, cfg: N.NetConfig, ratio=ANY, norms=ANY) -> Lesson:
    return Lesson(key, title, text, PAGE, settings_of(cfg), claim,
                  partial(check_init, ratio_range=ratio, norm_range=norms))


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        _lesson(
            "vanishing", "Vanishing: sigmoid, naive σ = 0.5",
            "Depth multiplies: see the gradient of each layer, and what He/Xavier initialization, batch norm and "
            "clipping change.",
            "σ'(z) ≤ 1/4 and the weights are small: the gradient halves at every layer on its way back, so the "
            "first layer's gradient is less than 10⁻³ of the last layer's (about 10⁻⁷ here) and gradient descent "
            "leaves the first layers where they started.",
            N.NetConfig("sigmoid", "naive", 0.5, lr=0.5), ratio=(0.0, 1e-3)),
        _lesson(
            "exploding", "Exploding: ReLU, naive σ = 1",
            "W = randn on a deep ReLU network: every layer's gradient explodes.",
            "With W = randn (σ = 1) each ReLU layer multiplies the signal by about σ·sqrt(n/2) = 4, forward and "
            "backward: every layer's gradient norm exceeds 10⁶ (He init: below 10), and gradient descent overflows "
            "within a few steps.  (ReLU is positively homogeneous, so the blow-up is shared by all layers: the "
            "first/last ratio stays near 1.)",
            N.NetConfig("relu", "naive", 1.0, lr=0.05), norms=(1e6, math.inf)),
        _lesson(
            "exploding_tanh", "Exploding toward the input: tanh, naive σ = 1",
            "tanh with σ = 1: the gradient grows on its way back to the input.",
            "tanh keeps the forward signal in (−1, 1), but with σ = 1 each layer multiplies the gradient by about "
            "1.7 on its way back: the first layer's gradient is more than 10² times the last layer's (about 10⁴ "
            "here).",
            N.NetConfig("tanh", "naive", 1.0, lr=0.05), ratio=(1e2, math.inf)),
        _lesson(
            "relu_he", "Healthy: ReLU with He initialization",
            "He's initialization keeps a deep ReLU network's gradients alike from layer to layer.",
            "He's sqrt(2 / n_{l−1}) keeps the variance of the signal and of the gradient from layer to layer: the "
            "first and last layers' gradients are within 10× of each other.",
            N.NetConfig("relu", "he", lr=0.05), ratio=(0.1, 10.0)),
        _lesson(
            "tanh_xavier", "Healthy: tanh with Xavier initialization",
            "Xavier's initialization keeps tanh in its linear range.",
            "Xavier's sqrt(2 / (n_{l−1} + n_l)) keeps tanh in its linear range: the first and last layers' "
            "gradients are within 10× of each other.",
            N.NetConfig("tanh", "xavier", lr=0.05), ratio=(0.1, 10.0)),
        _lesson(
            "exploding_clipped", "Exploding, clipped by the global norm (c = 1)",
            "Clipping the gradient's norm keeps the exploding network's steps bounded.",
            "The exploding network (every layer's gradient above 10⁶), trained with the gradient rescaled to norm "
            "≤ c = 1 at every step: the steps stay bounded and training does not overflow.",
            N.NetConfig("relu", "naive", 1.0, clip=("norm", 1.0), lr=0.05), norms=(1e6, math.inf)),
        _lesson(
            "deep_batchnorm", "Vanishing network + batch norm",
            "Batch norm rescues the vanishing network.",
            "The vanishing sigmoid network with batch norm after each hidden layer's linear part: z_N = (z − μ)/"
            "sqrt(σ² + ε) keeps σ(z) away from saturation, and the first and last layers' gradients are within "
            "10× of each other.  (Batch norm is not neutral either: at initialization it lets gradients grow "
            "mildly toward the input, about ×1.2 per layer, so on other seeds the ratio can reach a few tens.)",
            N.NetConfig("sigmoid", "naive", 0.5, batchnorm=True, lr=0.5), ratio=(0.1, 10.0)),
    ]
}


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on its network at initialization."""
    return lesson.verdict(N.layer_norms_at_init(config_of(lesson.settings)))
