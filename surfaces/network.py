"""A small multilayer perceptron on toy 2-D classification data: initializations, activations,
batch normalization, the course's losses, gradient diagnostics per layer, and a jitted
mini-batch training loop built on the optimizers of ``optim``.

Conventions (COURSE.md, "Vanishing and exploding gradients", "Activation functions named",
"Loss functions"):

- Examples are rows: ``X`` is (m, n₀), layer ``l`` computes ``z_l = a_{l−1} W_l + b_l`` with
  ``W_l`` of shape (n_{l−1}, n_l), then (batch norm on hidden layers) ``a_l = g(z_l)``.
  The output layer is linear: its ``ŷ`` is a logit (or K logits).
- Layers are indexed from 0 in every array (layer 0 is the first weight matrix, layer
  ``len(params) − 1`` the output layer); the course's ``l`` is that index + 1.
- Labels are integers 0..K−1 in the data; each loss maps them to the form the course writes
  (``y ∈ {−1, 1}`` for least squares, logistic and hinge, ``y ∈ {0, 1}`` for cross entropy,
  one-hot for the K-class cross entropy).
- Everything is float32 unless the caller passes float64 arrays under ``jax.enable_x64``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optim.rules import CLIPS, Optimizer, clip_by_global_norm, clip_by_value, full_hp, get_optimizer, global_norm
from optim.runner import batch_plan, reusing

tmap = jax.tree.map

MAX_DEPTH = 50
WIDTH_RANGE = (2, 256)
MAX_EXAMPLES = 20_000
MAX_CLASSES = 8
BN_EPS = 1e-5
BN_MOMENTUM = 0.9
LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0


# --- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetInfo:
    """A toy data set: its label, the class counts it accepts and its default noise σ."""

    name: str
    label: str
    classes: tuple[int, ...]
    noise: float
    description: str


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo("spirals", "Spirals", tuple(range(2, MAX_CLASSES + 1)), 0.05,
                    "K interleaved spiral arms (1.25 turns each): needs a deep or wide network."),
        DatasetInfo("moons", "Two moons", (2,), 0.1, "Two interleaving half circles."),
        DatasetInfo("circles", "Circles", (2,), 0.08, "A disc (radius 0.5) inside a ring (radius 1)."),
        DatasetInfo("xor", "XOR", (2,), 0.05,
                    "The four quadrants, the label is the XOR of the signs: not linearly separable."),
        DatasetInfo("blobs", "Blobs", tuple(range(2, MAX_CLASSES + 1)), 0.3,
                    "K Gaussian blobs centred on the unit circle."),
    ]
}


def _balanced_labels(rng, m: int, k: int) -> np.ndarray:
    """Labels 0..K−1 in equal shares (counts differ by at most one), in random order."""
    return rng.permutation(np.arange(m) % k)


def make_dataset(name: str, m: int = 200, noise: float | None = None, seed: int = 0,
                 n_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``m`` seeded examples of the toy set ``name``: ``X`` float32 (m, 2), ``y`` int32 in 0..K−1.

    ``noise`` is the standard deviation of the Gaussian jitter added to every point (the set's
    default when None).  spirals: arm k at angle 2πk/K + 2.5π r, radius r ~ U(0.05, 1);
    moons: (cos t, sin t) and (1 − cos t, 0.5 − sin t), t ~ U(0, π), centred; circles: radii 1
    and 0.5; xor: u ~ U(−1, 1)², pushed 0.1 away from the axes, y = [u₁ u₂ < 0]; blobs: centres
    (cos 2πk/K, sin 2πk/K)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    info = DATASETS[name]
    if n_classes not in info.classes:
        raise ValueError(f"{info.label} has {_choices(info.classes)} classes, not {n_classes}")
    if not 2 <= m <= MAX_EXAMPLES:
        raise ValueError(f"the number of examples must be between 2 and {MAX_EXAMPLES}, not {m}")
    noise = info.noise if noise is None else float(noise)
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"the noise must be a finite number ≥ 0, not {noise}")
    rng = np.random.default_rng(seed)
    y = _balanced_labels(rng, m, n_classes)
    if name == "spirals":
        r = rng.uniform(0.05, 1.0, m)
        theta = 2 * np.pi * y / n_classes + 2.5 * np.pi * r
        X = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], 1)
    elif name == "moons":
        t = rng.uniform(0.0, np.pi, m)
        outer = np.stack([np.cos(t), np.sin(t)], 1)
        inner = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
        X = np.where(y[:, None] == 0, outer, inner) - np.array([0.5, 0.25])
    elif name == "circles":
        t = rng.uniform(0.0, 2 * np.pi, m)
        radius = np.where(y == 0, 1.0, 0.5)
        X = radius[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
    elif name == "xor":
        u = rng.uniform(-1.0, 1.0, (m, 2))
        u += 0.1 * np.sign(u)
        y = (u[:, 0] * u[:, 1] < 0).astype(np.int64)
        X = u
    else:
        angle = 2 * np.pi * y / n_classes
        X = np.stack([np.cos(angle), np.sin(angle)], 1)
    X = X + noise * rng.standard_normal((m, 2))
    return X.astype(np.float32), y.astype(np.int32)


def _choices(values) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]} to {values[-1]}"


class Split(NamedTuple):
    """A train/test split of a data set."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_test_split(X, y, test_fraction: float = 0.25, seed: int = 0) -> Split:
    """A seeded random split: round(m · test_fraction) examples go to the test set (at least
    one, and at least one stays for training)."""
    m = len(y)
    if not 0 < test_fraction < 1:
        raise ValueError(f"the test fraction must be in (0, 1), not {test_fraction}")
    if m < 2:
        raise ValueError("a split needs at least two examples")
    n_test = min(max(1, round(m * test_fraction)), m - 1)
    perm = np.random.default_rng(seed).permutation(m)
    te, tr = perm[:n_test], perm[n_test:]
    X, y = np.asarray(X), np.asarray(y)
    return Split(X[tr], y[tr], X[te], y[te])


# --- activations ---------------------------------------------------------------------------------


class Activation(NamedTuple):
    """An activation ``g``, its derivative ``g'`` written by hand, their LaTeX and a label."""

    fn: Callable
    deriv: Callable
    latex: str
    label: str
    deriv_latex: str


def sigmoid(z):
    """σ(z) = 1 / (1 + e^{−z})."""
    return jax.nn.sigmoid(z)


def sigmoid_deriv(z):
    """σ'(z) = σ(z)(1 − σ(z)) ≤ 1/4."""
    s = jax.nn.sigmoid(z)
    return s * (1 - s)


def tanh(z):
    """tanh(z)."""
    return jnp.tanh(z)


def tanh_deriv(z):
    """tanh'(z) = 1 − tanh²(z)."""
    return 1 - jnp.tanh(z) ** 2


def relu(z):
    """max(0, z)."""
    return jnp.maximum(z, 0)


def relu_deriv(z):
    """1 for z > 0, else 0 (0 at the kink)."""
    return (z > 0).astype(jnp.result_type(z))


def leaky_relu(z):
    """max(0.01 z, z)."""
    return jnp.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_deriv(z):
    """1 for z > 0, else 0.01."""
    return jnp.where(z > 0, 1.0, LEAKY_SLOPE).astype(jnp.result_type(z))


def elu(z):
    """z for z > 0, else α (e^z − 1), α = 1 (Clevert et al., 2015)."""
    # expm1 of min(z, 0): the unused branch must not overflow, or its gradient is 0 · ∞.
    return jnp.where(z > 0, z, ELU_ALPHA * jnp.expm1(jnp.minimum(z, 0)))


def elu_deriv(z):
    """1 for z > 0, else α e^z."""
    return jnp.where(z > 0, 1.0, ELU_ALPHA * jnp.exp(jnp.minimum(z, 0))).astype(jnp.result_type(z))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(sigmoid, sigmoid_deriv, r"\sigma(z) = \frac{1}{1 + e^{-z}}", "Sigmoid",
                          r"\sigma'(z) = \sigma(z)\,(1 - \sigma(z))"),
    "tanh": Activation(tanh, tanh_deriv, r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}", "tanh",
                       r"\tanh'(z) = 1 - \tanh^2(z)"),
    "relu": Activation(relu, relu_deriv, r"\mathrm{ReLU}(z) = \max(0, z)", "ReLU",
                       r"\mathrm{ReLU}'(z) = \mathbb{1}[z > 0]"),
    "leaky_relu": Activation(leaky_relu, leaky_relu_deriv, r"\mathrm{LReLU}(z) = \max(0.01\,z,\ z)",
                             "Leaky ReLU", r"\mathrm{LReLU}'(z) = 1 \text{ if } z > 0 \text{ else } 0.01"),
    "elu": Activation(elu, elu_deriv,
                      r"\mathrm{ELU}(z) = z \text{ if } z > 0 \text{ else } \alpha\,(e^{z} - 1),\ \alpha = 1",
                      "ELU", r"\mathrm{ELU}'(z) = 1 \text{ if } z > 0 \text{ else } \alpha\, e^{z}"),
}


def get_activation(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


# --- initializations -----------------------------------------------------------------------------


class Init(NamedTuple):
    """A weight initialization ``fn(key, n_in, n_out, sigma) -> W`` of shape (n_in, n_out)."""

    fn: Callable
    latex: str
    label: str


def _randn(key, n_in, n_out):
    return jax.random.normal(key, (n_in, n_out), jnp.float32)


def naive_init(key, n_in, n_out, sigma=1.0):
    """W = σ · randn(n_{l−1}, n_l): the scale ignores the width."""
    return sigma * _randn(key, n_in, n_out)


def xavier_init(key, n_in, n_out, sigma=None):
    """Xavier (Glorot), for tanh: W = randn(n_{l−1}, n_l) · sqrt(2 / (n_{l−1} + n_l))."""
    return _randn(key, n_in, n_out) * math.sqrt(2.0 / (n_in + n_out))


def he_init(key, n_in, n_out, sigma=None):
    """He, for ReLU: W = randn(n_{l−1}, n_l) · sqrt(2 / n_{l−1})."""
    return _randn(key, n_in, n_out) * math.sqrt(2.0 / n_in)


def lecun_init(key, n_in, n_out, sigma=None):
    """LeCun: W = randn(n_{l−1}, n_l) · sqrt(1 / n_{l−1})."""
    return _randn(key, n_in, n_out) * math.sqrt(1.0 / n_in)


def orthogonal_init(key, n_in, n_out, sigma=None):
    """W with orthonormal columns (or rows): Q of the QR factorization of a Gaussian matrix,
    signs fixed by diag(R) so that Q is uniform over orthogonal matrices; gain 1."""
    big, small = max(n_in, n_out), min(n_in, n_out)
    q, r = jnp.linalg.qr(jax.random.normal(key, (big, small), jnp.float32))
    q = q * jnp.sign(jnp.diagonal(r))
    return q if n_in >= n_out else q.T


INITS: dict[str, Init] = {
    "naive": Init(naive_init, r"W = \sigma \cdot \mathrm{randn}(n_{l-1}, n_l)", "Naive N(0, σ²)"),
    "xavier": Init(xavier_init, r"W = \mathrm{randn}(n_{l-1}, n_l)\,\sqrt{\frac{2}{n_{l-1} + n_l}}",
                   "Xavier (Glorot)"),
    "he": Init(he_init, r"W = \mathrm{randn}(n_{l-1}, n_l)\,\sqrt{\frac{2}{n_{l-1}}}", "He"),
    "lecun": Init(lecun_init, r"W = \mathrm{randn}(n_{l-1}, n_l)\,\sqrt{\frac{1}{n_{l-1}}}", "LeCun"),
    "orthogonal": Init(orthogonal_init, r"W = Q,\quad Q^\top Q = I \ (\text{QR of } \mathrm{randn})",
                       "Orthogonal"),
}


def get_init(name: str) -> Init:
    try:
        return INITS[name]
    except KeyError:
        raise ValueError(f"unknown initialization {name!r}; choose one of {sorted(INITS)}") from None


# --- the network ---------------------------------------------------------------------------------


def mlp_sizes(depth: int, width: int, n_in: int = 2, n_out: int = 1) -> tuple[int, ...]:
    """(n₀, n₁, …, n_L, n_out): ``depth`` hidden layers of ``width`` units."""
    return (n_in,) + (width,) * depth + (n_out,)


def init_mlp(key, sizes, init: str = "he", sigma: float = 1.0, batchnorm: bool = False) -> list[dict]:
    """Parameters of an MLP with layer sizes ``sizes`` = (n₀, n₁, …, n_out): a list of layer
    dicts ``{"W": (n_{l−1}, n_l), "b": zeros(n_l)}``; hidden layers also get ``"gamma": ones``,
    ``"beta": zeros`` when ``batchnorm``.  ``sigma`` is the σ of the naive initialization.
    ``key``: a JAX key or an int seed."""
    sizes = tuple(int(n) for n in sizes)
    depth = len(sizes) - 2
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"the network has between 1 and {MAX_DEPTH} hidden layers, not {depth}")
    lo, hi = WIDTH_RANGE
    if any(not lo <= n <= hi for n in sizes[1:-1]):
        raise ValueError(f"hidden layers have between {lo} and {hi} units, not {sizes[1:-1]}")
    if sizes[0] < 1 or sizes[-1] < 1:
        raise ValueError(f"input and output sizes must be positive, not {sizes[0]} and {sizes[-1]}")
    fn = get_init(init).fn
    key = jax.random.key(key) if isinstance(key, (int, np.integer)) else key
    keys = jax.random.split(key, len(sizes) - 1)
    params = []
    for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
        layer = {"W": fn(k, n_in, n_out, float(sigma)), "b": jnp.zeros(n_out, jnp.float32)}
        if batchnorm and i < depth:
            layer["gamma"] = jnp.ones(n_out, jnp.float32)
            layer["beta"] = jnp.zeros(n_out, jnp.float32)
        params.append(layer)
    return params


def has_batchnorm(params) -> bool:
    return "gamma" in params[0]


class BNState(NamedTuple):
    """Running (EWMA) batch statistics of each hidden layer, used at test time."""

    mean: tuple
    var: tuple


def init_bn_state(params) -> BNState:
    """Running means 0 and variances 1 for every batch-normalized layer."""
    bn = [p for p in params if "gamma" in p]
    return BNState(tuple(jnp.zeros_like(p["gamma"]) for p in bn), tuple(jnp.ones_like(p["gamma"]) for p in bn))


class Forward(NamedTuple):
    """A forward pass: ``out`` (m, n_out) the logits; ``bn_state`` the running statistics (updated
    in training, None if none were given); ``z`` and ``a`` per hidden layer (the input of ``g``
    after batch norm, and ``g(z)``) when asked for, else None."""

    out: Any
    bn_state: BNState | None
    z: tuple | None
    a: tuple | None


def batch_stats(z, mask=None):
    """μ = Σᵢ wᵢ zᵢ / Σᵢ wᵢ,  σ² = Σᵢ wᵢ (zᵢ − μ)² / Σᵢ wᵢ per feature (wᵢ = mask, 1 if None):
    padded examples of a short last mini-batch have weight 0."""
    if mask is None:
        return jnp.mean(z, 0), jnp.var(z, 0)
    w = mask[:, None] / jnp.sum(mask)
    mu = jnp.sum(w * z, 0)
    return mu, jnp.sum(w * (z - mu) ** 2, 0)


def batchnorm(z, gamma, beta, mu, var, eps=BN_EPS):
    """z_N = (z − μ) / sqrt(σ² + ε),  z_BN = γ z_N + β."""
    return gamma * (z - mu) / jnp.sqrt(var + eps) + beta


def forward(params, X, activation: str = "relu", bn_state: BNState | None = None, train: bool = True, *,
            mask=None, momentum: float = BN_MOMENTUM, return_activations: bool = False) -> Forward:
    """a₀ = X;  z_l = a_{l−1} W_l + b_l;  hidden layers: z_l := BN(z_l) if the layer has γ, β,
    a_l = g(z_l);  output: ŷ = a_L W_{L+1} + b_{L+1} (logits, no activation).

    Batch norm in training (``train``) uses the statistics of the batch (weighted by ``mask``) and
    updates the running averages μ_run := β μ_run + (1 − β) μ, σ²_run := β σ²_run + (1 − β) σ²
    (β = ``momentum``; σ² the biased batch variance); at test time it uses μ_run, σ²_run."""
    # The layers are unrolled: a lax.scan over equal layers compiled slower here (20 s against 5 s
    # for 50 layers, XLA CPU).
    g = get_activation(activation).fn
    bn = has_batchnorm(params)
    if bn and not train and bn_state is None:
        raise ValueError("batch norm at test time needs the running statistics (bn_state)")
    a = X
    zs, as_, means, vars_ = [], [], [], []
    for i, layer in enumerate(params[:-1]):
        z = a @ layer["W"] + layer["b"]
        if bn:
            if train:
                mu, var = batch_stats(z, mask)
                if bn_state is not None:
                    means.append(momentum * bn_state.mean[i] + (1 - momentum) * mu)
                    vars_.append(momentum * bn_state.var[i] + (1 - momentum) * var)
            else:
                mu, var = bn_state.mean[i], bn_state.var[i]
            z = batchnorm(z, layer["gamma"], layer["beta"], mu, var)
        a = g(z)
        zs.append(z)
        as_.append(a)
    out = a @ params[-1]["W"] + params[-1]["b"]
    new_state = BNState(tuple(means), tuple(vars_)) if (bn and train and bn_state is not None) else bn_state
    if not return_activations:
        return Forward(out, new_state, None, None)
    return Forward(out, new_state, tuple(zs), tuple(as_))


# --- losses --------------------------------------------------------------------------------------


class Loss(NamedTuple):
    """A loss: ``fn(out, t)`` the per-example loss of logits ``out`` (m, n_out) against targets
    ``t`` (as ``target`` makes them from integer labels); ``predict(out)`` the classes."""

    fn: Callable
    target: Callable
    predict: Callable
    n_outputs: Callable  # number of classes K -> number of output units
    latex: str
    label: str
    labels: str  # the label convention, for the page


def _pm1(y, n_out):
    """y ∈ {0, 1} -> {−1, 1}."""
    return 2.0 * y - 1.0


def _01(y, n_out):
    return 1.0 * y


def _onehot(y, n_out):
    return jax.nn.one_hot(y, n_out)


def _sign_predict(out):
    return (out[:, 0] > 0).astype(jnp.int32)


def _binary_outputs(k: int) -> int:
    if k != 2:
        raise ValueError(f"this loss is for two classes, not {k}: use softmax_cross_entropy")
    return 1


def least_squares(out, t):
    """(ŷ − y)², y ∈ {−1, 1}."""
    return (out[:, 0] - t) ** 2


def logistic(out, t):
    """log(1 + exp(−ŷ y)), y ∈ {−1, 1} (computed as logaddexp(0, −ŷ y))."""
    return jnp.logaddexp(0.0, -out[:, 0] * t)


def hinge(out, t):
    """max(0, 1 − ŷ y), y ∈ {−1, 1}."""
    return jnp.maximum(0.0, 1.0 - out[:, 0] * t)


def cross_entropy(out, t):
    """−(y log ŷ + (1 − y) log(1 − ŷ)) with ŷ = σ(z), y ∈ {0, 1}, from the logit z:
    log(1 + e^z) − y z, computed as logaddexp(0, z) − y z (no log of 0, no overflow)."""
    z = out[:, 0]
    return jnp.logaddexp(0.0, z) - t * z


def softmax_cross_entropy(out, t):
    """−Σₖ yₖ log ŷₖ with ŷ = softmax(z), y one-hot, from the logits z via log-softmax."""
    return -jnp.sum(t * jax.nn.log_softmax(out, axis=-1), axis=-1)


LOSSES: dict[str, Loss] = {
    "least_squares": Loss(least_squares, _pm1, _sign_predict, _binary_outputs,
                          r"(\hat y - y)^2", "Least squares", r"y \in \{-1, 1\}"),
    "logistic": Loss(logistic, _pm1, _sign_predict, _binary_outputs,
                     r"\log\left(1 + e^{-\hat y\, y}\right)", "Logistic", r"y \in \{-1, 1\}"),
    "hinge": Loss(hinge, _pm1, _sign_predict, _binary_outputs,
                  r"\max(0,\ 1 - \hat y\, y)", "Hinge", r"y \in \{-1, 1\}"),
    "cross_entropy": Loss(cross_entropy, _01, _sign_predict, _binary_outputs,
                          r"-\big(y \log \hat y + (1 - y) \log(1 - \hat y)\big),\ \hat y = \sigma(z)",
                          "Cross entropy", r"y \in \{0, 1\}"),
    "softmax_cross_entropy": Loss(softmax_cross_entropy, _onehot, lambda out: jnp.argmax(out, -1).astype(jnp.int32),
                                  lambda k: k, r"-\sum_{k=1}^{K} y_k \log \hat y_k,\ \hat y = \mathrm{softmax}(z)",
                                  "Cross entropy (K classes)", r"y \text{ one-hot}"),
}


def get_loss(name: str) -> Loss:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


def l2_penalty(params, lam):
    """λ Σ_l ‖W_l‖² (squared Frobenius norms of the weight matrices; biases, γ, β excluded)."""
    return lam * sum(jnp.sum(layer["W"] ** 2) for layer in params)


def objective(params, X, y, activation: str = "relu", loss: str = "cross_entropy", lam=0.0,
              bn_state: BNState | None = None, train: bool = True, mask=None, momentum=BN_MOMENTUM):
    """J = (1/m) Σᵢ ℓ(ŷᵢ, yᵢ) + λ Σ_l ‖W_l‖² with integer labels ``y`` (mapped as the loss says);
    a ``mask`` weights the examples (J = Σ wᵢ ℓᵢ / Σ wᵢ + …).  Returns (J, the forward's bn_state)."""
    spec = get_loss(loss)
    f = forward(params, X, activation, bn_state, train, mask=mask, momentum=momentum)
    t = spec.target(y, params[-1]["W"].shape[1])
    losses = spec.fn(f.out, t)
    data = jnp.mean(losses) if mask is None else jnp.sum(mask * losses) / jnp.sum(mask)
    return data + l2_penalty(params, lam), f.bn_state


def _losses_and_hits(params, X, y, activation, loss, bn_state):
    """Per example, in test mode: the data loss and whether the predicted class is the label."""
    spec = get_loss(loss)
    out = forward(params, X, activation, bn_state, train=not has_batchnorm(params)).out
    return spec.fn(out, spec.target(y, out.shape[1])), spec.predict(out) == y


def evaluate(params, X, y, activation: str = "relu", loss: str = "cross_entropy", bn_state: BNState | None = None):
    """(mean data loss, accuracy) in test mode: batch norm with the running averages ``bn_state``
    (a network without batch norm needs none)."""
    losses, hits = _losses_and_hits(params, X, y, activation, loss, bn_state)
    return jnp.mean(losses), jnp.mean(hits)


class Prediction(NamedTuple):
    """``out`` the logits (m, n_out), ``label`` the predicted classes (m,)."""

    out: Any
    label: Any


@partial(jax.jit, static_argnames=("activation", "loss"))
def predict(params, X, activation: str = "relu", loss: str = "cross_entropy",
            bn_state: BNState | None = None) -> Prediction:
    """The network's logits and classes on ``X`` in test mode (e.g. a grid, for the decision
    boundary); batch norm uses the running averages ``bn_state``."""
    out = forward(params, X, activation, bn_state, train=not has_batchnorm(params)).out
    return Prediction(out, get_loss(loss).predict(out))


# --- diagnostics ---------------------------------------------------------------------------------


def weight_norms(params):
    """‖W_l‖_F per layer, shape (n_layers,)."""
    return jnp.stack([jnp.linalg.norm(layer["W"]) for layer in params])


def _layer_grad_norms(grads):
    return jnp.stack([jnp.linalg.norm(g["W"]) for g in grads])


@partial(jax.jit, static_argnames=("activation", "loss"))
def gradients(params, X, y, activation: str = "relu", loss: str = "cross_entropy", lam=0.0):
    """∂J/∂θ for every parameter (a pytree like ``params``) of the full-batch objective J (batch
    norm with the statistics of ``X``)."""
    return jax.grad(lambda p: objective(p, X, y, activation, loss, lam)[0])(params)


def layer_grad_norms(params, X, y, activation: str = "relu", loss: str = "cross_entropy", lam: float = 0.0):
    """‖∂J/∂W_l‖_F per layer, shape (n_layers,), the gradient of the full-batch objective J
    (batch norm with the statistics of ``X``).  At initialization this is the picture of
    vanishing (first layers ≪ last) or exploding gradients."""
    return _layer_grad_norms(gradients(params, jnp.asarray(X), jnp.asarray(y), activation, loss, float(lam)))


class ActivationStats(NamedTuple):
    """Per hidden layer: ``z`` (input of g, after batch norm) and ``a = g(z)``, arrays (m, n_l);
    ``mean``, ``std`` of a and ``saturated``: the fraction of units with g'(z) < 0.05·max g'
    (saturated sigmoid/tanh, dead ReLU), each of shape (depth,)."""

    z: tuple
    a: tuple
    mean: Any
    std: Any
    saturated: Any


_SATURATION = 0.05


@partial(jax.jit, static_argnames=("activation", "train"))
def _activation_stats(params, X, activation, bn_state, train):
    act = get_activation(activation)
    f = forward(params, X, activation, bn_state, train, return_activations=True)
    peak = jnp.max(act.deriv(jnp.linspace(-3.0, 3.0, 601)))
    return ActivationStats(
        f.z, f.a,
        jnp.stack([jnp.mean(a) for a in f.a]),
        jnp.stack([jnp.std(a) for a in f.a]),
        jnp.stack([jnp.mean(act.deriv(z) < _SATURATION * peak) for z in f.z]),
    )


def layer_activation_stats(params, X, activation: str = "relu", bn_state: BNState | None = None,
                           train: bool = True) -> ActivationStats:
    """The activations of every hidden layer on ``X`` and their summary (for violins, heatmaps)."""
    return _activation_stats(params, jnp.asarray(X), activation, bn_state, train)


# --- training ------------------------------------------------------------------------------------


class TrainResult(NamedTuple):
    """A training run.

    Per recorded step (every ``record_every``-th update; ``step`` holds the update counter
    t = 1, 2, …, each value measured at the parameters the update t started from):
      loss (n,) the mini-batch objective J (data + λ‖W‖²); grad_norms (n, n_layers) ‖∂J/∂W_l‖;
      weight_norms (n, n_layers) ‖W_l‖; grad_norm (n,) the global norm of the raw gradient;
      clipped_norm (n,) the global norm of the gradient the rule read (after clipping).
    Per epoch, index 0 before training (test mode: batch norm with its running averages):
      train_loss, train_acc, test_loss, test_acc (epochs + 1,) — the data loss, without λ‖W‖²;
      the test fields are None without test data.
    diverged_step: the update t that met a non-finite gradient or produced non-finite weights,
      −1 if none; diverged_layer: the first such layer (0-based), −1 if none.  From there the
      parameters, optimizer and batch-norm state stay frozen (later records repeat them).
    """

    params: Any
    bn_state: BNState | None
    step: Any
    loss: Any
    grad_norms: Any
    weight_norms: Any
    grad_norm: Any
    clipped_norm: Any
    train_loss: Any
    train_acc: Any
    test_loss: Any
    test_acc: Any
    diverged_step: Any
    diverged_layer: Any

    @property
    def diverged_at(self) -> tuple[int, int] | None:
        """(update t, layer) of the first non-finite gradient or weight, or None."""
        t = int(self.diverged_step)
        return None if t < 0 else (t, int(self.diverged_layer))


def _layer_finite(tree) -> jax.Array:
    """Per layer: all of its gradients or parameters are finite."""
    return jnp.stack([jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(layer)]))
                      for layer in tree])


def _select(pred, a, b):
    return tmap(lambda x, y: jnp.where(pred, x, y), a, b)


def _clip(g, kind, c):
    """The gradient clipped as ``CLIPS[kind]`` says, with ``kind`` traced: toggling clipping on
    a page does not recompile (the engine's rules take it as a static option)."""
    by_value, by_norm = clip_by_value(g, c), clip_by_global_norm(g, c)
    return tmap(lambda g, v, n: jnp.where(kind == 2, n, jnp.where(kind == 1, v, g)), g, by_value, by_norm)


_TRAIN_STATIC = ("opt", "activation", "loss", "epochs", "batch_size", "record_every")


@partial(jax.jit, static_argnames=_TRAIN_STATIC)
def _train(opt: Optimizer, activation, loss, epochs, batch_size, record_every,
           params, bn_state, hp, clip_kind, clip_c, lam, momentum, key, X, y, X_test, y_test):
    m = X.shape[0]
    idx, mask = batch_plan(key, m, batch_size, epochs)
    n_batches = idx.shape[0] // epochs
    idx = idx.reshape(epochs, n_batches, -1)
    mask = mask.reshape(epochs, n_batches, -1)
    state0 = opt.init(params)

    # Train and test sets in one forward pass (test mode treats examples independently): one
    # copy of the network in the compiled program instead of two.
    X_eval = X if X_test is None else jnp.concatenate([X, X_test])
    y_eval = y if y_test is None else jnp.concatenate([y, y_test])

    def evaluate_both(p, bn):
        losses, hits = _losses_and_hits(p, X_eval, y_eval, activation, loss, bn)
        tr = jnp.mean(losses[:m]), jnp.mean(hits[:m])
        te = (jnp.mean(losses[m:]), jnp.mean(hits[m:])) if X_test is not None else (None, None)
        return tr, te

    def step(carry, batch):
        p, st, bn, t, div_t, div_l = carry
        b_idx, b_mask = batch
        Xb, yb = X[b_idx], y[b_idx]

        def obj(q):
            return objective(q, Xb, yb, activation, loss, lam, bn, train=True, mask=b_mask, momentum=momentum)

        (J, bn_new), g = jax.value_and_grad(obj, has_aux=True)(p)
        g_read = _clip(g, clip_kind, clip_c)
        p_new, st_new = opt.step(reusing(g_read, p, lambda q: _clip(jax.grad(obj, has_aux=True)(q)[0],
                                                                      clip_kind, clip_c)), p, st, hp)
        bad = ~(_layer_finite(g) & _layer_finite(p_new))
        alive = div_t < 0
        failed = jnp.any(bad)
        take = alive & ~failed
        p_out, st_out = _select(take, p_new, p), _select(take, st_new, st)
        bn_out = _select(take, bn_new, bn) if bn is not None else None
        div_l = jnp.where(alive & failed, jnp.argmax(bad), div_l)
        div_t = jnp.where(alive & failed, t, div_t)
        rec = (J, _layer_grad_norms(g), weight_norms(p), global_norm(g), global_norm(g_read))
        return (p_out, st_out, bn_out, t + 1, div_t, div_l), rec

    def epoch(carry, batches):
        carry, rec = jax.lax.scan(step, carry, batches)
        return carry, (rec, evaluate_both(carry[0], carry[2]))

    minus1 = jnp.array(-1, jnp.int32)
    carry0 = (params, state0, bn_state, jnp.array(1, jnp.int32), minus1, minus1)
    (p_end, _, bn_end, _, div_t, div_l), (rec, evals) = jax.lax.scan(epoch, carry0, (idx, mask))
    ev0 = evaluate_both(params, bn_state)
    evals = tmap(lambda a, b: jnp.concatenate([jnp.asarray(a)[None], b]), ev0, evals)
    (tr_loss, tr_acc), (te_loss, te_acc) = evals
    steps = epochs * n_batches
    rec = tmap(lambda r: r.reshape((steps,) + r.shape[2:])[::record_every], rec)
    return TrainResult(p_end, bn_end, jnp.arange(1, steps + 1)[::record_every], *rec,
                       tr_loss, tr_acc, te_loss, te_acc, div_t, div_l)


def train(params, X, y, optimizer: str | Optimizer = "adam", epochs: int = 10, batch_size: int = 32,
          hp: Mapping[str, float] | None = None, key=0, activation: str = "relu", loss: str = "cross_entropy",
          lam: float = 0.0, batchnorm: bool | None = None, clip: tuple[str, float] = ("none", 1.0),
          record_every: int = 1, X_test=None, y_test=None, bn_state: BNState | None = None,
          convention: str | None = None, bn_momentum: float = BN_MOMENTUM) -> TrainResult:
    """Train the MLP ``params`` on ``(X, y)`` (integer labels) by mini-batch ``optimizer``:
    each epoch shuffles and partitions the data (the course's ``random_mini_batches``,
    ``optim.batch_plan``) and makes one update per mini-batch on J = mean loss + λ Σ‖W‖²,
    the gradient clipped as ``clip = (kind, c)`` says (``none``, ``value``: |g| ≤ c,
    ``norm``: ‖g‖ ≤ c; this replaces an ``Optimizer``'s own clip option).  ``hp``: the rule's
    hyperparameters (registry defaults otherwise).

    One jitted ``lax.scan``: static are the rule (name, convention), activation, loss, epochs,
    batch size, record_every and the shapes; hyperparameters, the clipping (kind and c), λ, the
    key, the data are traced (a new slider value does not recompile).  Never raises on divergence:
    see ``TrainResult.diverged_at``."""
    kind, c = clip
    if kind not in CLIPS:
        raise ValueError(f"unknown clipping {kind!r}; choose one of {CLIPS}")
    if kind != "none" and not (np.isfinite(c) and c > 0):
        raise ValueError(f"the clipping threshold must be a positive number, not {c}")
    opt = get_optimizer(optimizer).with_options(convention=convention, clip="none")
    hp = {k: float(v) for k, v in full_hp(opt, hp or {}).items()}
    bn = has_batchnorm(params)
    if batchnorm is not None and bool(batchnorm) != bn:
        raise ValueError(f"batchnorm={batchnorm} but the parameters {'have' if bn else 'have no'} γ, β")
    if bn and bn_state is None:
        bn_state = init_bn_state(params)
    m = int(np.shape(X)[0])
    if m < 1:
        raise ValueError("the data set has no examples")
    if epochs < 1 or batch_size < 1 or record_every < 1:
        raise ValueError("epochs, batch_size and record_every must be at least 1")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    get_activation(activation)
    get_loss(loss)
    key = jax.random.key(key) if isinstance(key, (int, np.integer)) else key
    as_x = lambda a: None if a is None else jnp.asarray(a, jnp.float32)
    as_y = lambda a: None if a is None else jnp.asarray(a, jnp.int32)
    params = tmap(lambda a: jnp.asarray(a, jnp.float32), params)
    return _train(opt, activation, loss, int(epochs), int(batch_size), int(record_every),
                  params, bn_state, hp, jnp.asarray(CLIPS.index(kind), jnp.int32), float(c), float(lam),
                  float(bn_momentum), key,
                  as_x(X), as_y(y), as_x(X_test), as_y(y_test))


# --- one experiment of the vanishing / exploding page -----------------------------------------------


@dataclass(frozen=True)
class NetConfig:
    """A full configuration of a deep network, its data and its training (hashable: pages cache
    by it)."""

    activation: str
    init: str
    sigma: float = 1.0
    depth: int = 20
    width: int = 32
    batchnorm: bool = False
    clip: tuple[str, float] = ("none", 1.0)
    dataset: str = "moons"
    m: int = 400
    noise: float = 0.1
    loss: str = "cross_entropy"
    optimizer: str = "gd"
    lr: float = 0.05
    epochs: int = 30
    batch_size: int = 32
    seed: int = 0

    @property
    def sizes(self) -> tuple[int, ...]:
        return mlp_sizes(self.depth, self.width, 2, 1)

    def data(self) -> Split:
        X, y = make_dataset(self.dataset, self.m, self.noise, self.seed)
        return train_test_split(X, y, 0.25, self.seed)

    def init_params(self) -> list[dict]:
        return init_mlp(jax.random.key(self.seed), self.sizes, self.init, self.sigma, self.batchnorm)

    def train(self, **overrides) -> TrainResult:
        """Train with this configuration (``overrides`` replace fields of it)."""
        p = replace(self, **overrides)
        d = p.data()
        return train(p.init_params(), d.X_train, d.y_train, p.optimizer, p.epochs, p.batch_size, {"lr": p.lr},
                     p.seed, p.activation, p.loss, 0.0, p.batchnorm, p.clip, 1, d.X_test, d.y_test)


def layer_norms_at_init(cfg: NetConfig) -> np.ndarray:
    """‖∂J/∂W_l‖ for every layer of the configuration's network at initialization, on its
    training set (layer 0 first)."""
    d = cfg.data()
    return np.asarray(layer_grad_norms(cfg.init_params(), d.X_train, d.y_train, cfg.activation, cfg.loss))


# --- the scalar chain --------------------------------------------------------------------------------


class ScalarChain(NamedTuple):
    """w^L for a one-unit-per-layer linear network: ``w`` (n,), ``wL`` (n,) = w^L,
    ``powers`` (n, L + 1) = w^l for l = 0..L."""

    w: np.ndarray
    L: int
    wL: np.ndarray
    powers: np.ndarray


def scalar_chain(ws=(0.9, 1.0, 1.1), L: int = 50) -> ScalarChain:
    """ŷ = w^L x through L layers of one unit each: a little below 1 vanishes (0.9⁵⁰ ≈ 0.005),
    a little above explodes (1.1⁵⁰ ≈ 117)."""
    w = np.asarray(ws, np.float64)
    powers = w[:, None] ** np.arange(L + 1)
    return ScalarChain(w, int(L), powers[:, -1], powers)
