"""One training step of a deep MLP: the engine (surfaces.network + optim, jitted) against PyTorch
on the CPU, in one run.

    python bench/bench_network.py [--depth 50] [--width 256] [--batch 256] [--repeats 7] [--bn]
                                  [--stat median|min] [--json out.json]

The step: ReLU MLP of ``depth`` hidden layers of ``width`` units (He initialization), 2 inputs,
one logit, the course's binary cross entropy on a mini-batch of ``batch`` examples; forward,
backward, update.  Both sides start from the same float32 weights and data:

- ours: ``value_and_grad`` of ``surfaces.network.objective`` and ``OPTIMIZERS[rule].step``, one
  ``jax.jit`` (parameters and optimizer state donated: updated in place, as PyTorch does);
- PyTorch: ``nn.Sequential`` of ``nn.Linear`` + ``nn.ReLU`` (+ ``nn.BatchNorm1d`` with ``--bn``),
  ``BCEWithLogitsLoss``, ``zero_grad(set_to_none=True)``, ``backward``, ``optimizer.step()``;
  SGD for GD, Adam for Adam (ours in its PyTorch convention, ε outside the square root: the same
  iteration, so the losses of the first steps agree).

Each contender makes three warm-up calls (ours compiles in the first, reported apart; PyTorch
flushes subnormals to zero as XLA does), then the contenders are timed alternately, ``--repeats``
rounds of a few steps each, so that load from other processes falls on both; the median (or min)
of the rounds is reported, per step.  Also
reported: ``surfaces.network.train``'s cost per update (it also records per-layer gradient and
weight norms every update and evaluates once per epoch), and the losses of the first steps on both
sides (they agree: the same computation).  With batch norm they agree to ~3e-4 only and the runs
then drift apart: at initialization this network's gradient grows ~2000× from the output to the
first layer, which amplifies float32 rounding (on both sides the first layer's gradient is ~20 %
away from the float64 one).  Goal: ours / PyTorch ≤ 1.5×.

PyTorch is a development dependency of this benchmark only (``pip install torch``): the app
does not use it.  Without it the script still times our side and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from optim import OPTIMIZERS  # noqa: E402
from surfaces import network as N  # noqa: E402

try:
    import torch

    # XLA's CPU code flushes subnormal floats to zero; PyTorch computes them, ~1.5× slower on the
    # tiny gradients of the first layers here.  Same arithmetic on both sides.
    torch.set_flush_denormal(True)
except ImportError:  # the benchmark still times our side
    torch = None

RULES = {"gd": {"lr": 1e-3}, "adam": {"lr": 1e-4, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
STEPS_PER_ROUND = 3
# Not timed: lets the other side's worker threads stop spinning before a contender starts.  On 2
# shared cores PyTorch's OpenMP barriers otherwise stall now and then for up to 10× the step.
PAUSE_S = 0.05
WARMUP = 3  # calls before timing: ours compiles on the first, PyTorch allocates its buffers


def problem(depth: int, width: int, batch: int, bn: bool, seed: int = 0):
    """The data (a mini-batch of the two moons) and He-initialized parameters, as NumPy."""
    X, y = N.make_dataset("moons", batch, seed=seed)
    params = N.init_mlp(seed, N.mlp_sizes(depth, width), "he", batchnorm=bn)
    return X, y, jax.tree.map(np.asarray, params)


# --- ours ----------------------------------------------------------------------------------------


def jax_step(rule: str, hp: dict):
    """One jitted update: J, ∂J/∂θ by reverse mode, then the registry's update rule."""
    opt = OPTIMIZERS[rule]
    opt = opt.with_options(convention="pytorch") if "pytorch" in opt.conventions else opt

    def step(params, state, X, y):
        (J, _), g = jax.value_and_grad(lambda p: N.objective(p, X, y, "relu", "cross_entropy"), has_aux=True)(params)
        params, state = opt.step(lambda _: g, params, state, hp)
        return params, state, J

    return opt, jax.jit(step, donate_argnums=(0, 1))


class Ours:
    def __init__(self, rule, params, X, y):
        self.opt, self.fn = jax_step(rule, {k: float(v) for k, v in RULES[rule].items()})
        self.params = jax.tree.map(jnp.asarray, params)
        self.state = self.opt.init(self.params)
        self.X, self.y = jnp.asarray(X), jnp.asarray(y)

    def __call__(self):
        self.params, self.state, J = self.fn(self.params, self.state, self.X, self.y)
        return J

    @staticmethod
    def sync(J):
        return float(jax.block_until_ready(J))


# --- PyTorch -------------------------------------------------------------------------------------


class Torch:
    def __init__(self, rule, params, X, y):
        layers = []
        for i, p in enumerate(params):
            lin = torch.nn.Linear(*p["W"].shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.array(p["W"].T)))
                lin.bias.copy_(torch.from_numpy(np.array(p["b"])))
            layers.append(lin)
            if i < len(params) - 1:
                if "gamma" in p:
                    layers.append(torch.nn.BatchNorm1d(p["W"].shape[1], eps=N.BN_EPS, momentum=1 - N.BN_MOMENTUM))
                layers.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*layers).train()
        hp = RULES[rule]
        self.opt = (torch.optim.SGD(self.net.parameters(), lr=hp["lr"]) if rule == "gd" else
                    torch.optim.Adam(self.net.parameters(), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                                     eps=hp["eps"]))
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))
        self.loss = torch.nn.BCEWithLogitsLoss()

    def __call__(self):
        self.opt.zero_grad(set_to_none=True)
        J = self.loss(self.net(self.X)[:, 0], self.y)
        J.backward()
        self.opt.step()
        return J

    @staticmethod
    def sync(J):
        return float(J.detach())


# --- timing --------------------------------------------------------------------------------------


def time_alternately(contenders: dict, repeats: int, stat: str) -> dict:
    """WARMUP calls each (the first timed: ours compiles there), then ``repeats`` rounds of
    STEPS_PER_ROUND steps, the contenders in turn.  Seconds per step, and the first losses."""
    out = {}
    for name, c in contenders.items():
        t = time.perf_counter()
        losses = [c.sync(c())]
        out[name] = {"first_call_s": time.perf_counter() - t, "samples": [], "losses": losses}
        losses += [c.sync(c()) for _ in range(WARMUP - 1)]
    for _ in range(repeats):
        for name, c in contenders.items():
            time.sleep(PAUSE_S)
            t = time.perf_counter()
            for _ in range(STEPS_PER_ROUND):
                J = c()
            loss = c.sync(J)
            out[name]["samples"].append((time.perf_counter() - t) / STEPS_PER_ROUND)
            out[name]["last_loss"] = loss
    for r in out.values():
        r["median_s"], r["min_s"] = statistics.median(r["samples"]), min(r["samples"])
        r["s"] = r[f"{stat}_s"]
    return out


def train_per_update(depth, width, batch, bn, repeats, stat) -> dict:
    """surfaces.network.train (Adam) over one epoch of 8 mini-batches: seconds per update."""
    X, y = N.make_dataset("moons", 8 * batch, seed=1)
    params = N.init_mlp(0, N.mlp_sizes(depth, width), "he", batchnorm=bn)

    def call(lr):
        r = N.train(params, X, y, "adam", 1, batch, {"lr": lr}, 0, "relu")
        return jax.block_until_ready(r.loss)

    t = time.perf_counter()
    call(1e-4)
    first = time.perf_counter() - t
    samples = []
    for k in range(max(3, repeats // 2)):
        t = time.perf_counter()
        call(1e-4 * (1 + 0.01 * k))  # a new rate: traced, no recompilation
        samples.append((time.perf_counter() - t) / 8)
    s = statistics.median(samples) if stat == "median" else min(samples)
    return {"first_call_s": first, "s": s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rules", default="gd,adam")
    ap.add_argument("--bn", action="store_true", help="also time the networks with batch norm")
    ap.add_argument("--stat", choices=("median", "min"), default="median")
    ap.add_argument("--json", help="write every number to this file")
    a = ap.parse_args()
    t_start = time.perf_counter()
    load0 = os.getloadavg()
    print(f"one training step: depth {a.depth}, width {a.width}, batch {a.batch}, ReLU, He init, binary cross "
          f"entropy; float32, CPU")
    print(f"python {platform.python_version()}, jax {jax.__version__} ({jax.devices()[0].platform}), "
          f"torch {torch.__version__ if torch else 'not installed'}"
          + (f" ({torch.get_num_threads()} threads)" if torch else "") + f", cpu_count {os.cpu_count()}, "
          f"load avg at start {load0[0]:.1f}")
    print(f"{a.stat} of {a.repeats} rounds of {STEPS_PER_ROUND} steps, contenders alternating\n")
    head = (f"{'rule':<14}{'ours ms':>10}{'torch ms':>10}{'ours/torch':>12}{'(min/min)':>11}{'compile s':>11}"
            "   first losses ours | torch")
    print(head)
    print("-" * len(head))
    results = {"config": vars(a), "rows": []}
    for bn in (False, True) if a.bn else (False,):
        X, y, params = problem(a.depth, a.width, a.batch, bn)
        for rule in a.rules.split(","):
            contenders = {"ours": Ours(rule, params, X, y)}
            if torch is not None:
                contenders["torch"] = Torch(rule, params, X, y)
            r = time_alternately(contenders, a.repeats, a.stat)
            ours = r["ours"]
            tt = r.get("torch")
            ratio = ours["s"] / tt["s"] if tt else float("nan")
            compile_s = ours["first_call_s"] - ours["s"]
            name = rule + (" + BN" if bn else "")
            losses = " ".join(f"{v:.5f}" for v in ours["losses"]) + " | " + (
                " ".join(f"{v:.5f}" for v in tt["losses"]) if tt else "—")
            ratio_min = ours["min_s"] / tt["min_s"] if tt else float("nan")
            print(f"{name:<14}{ours['s'] * 1e3:>10.1f}{(tt['s'] * 1e3 if tt else float('nan')):>10.1f}"
                  f"{ratio:>11.2f}×{ratio_min:>10.2f}×{compile_s:>11.1f}   {losses}")
            results["rows"].append({"rule": name, "ours": ours, "torch": tt, "ratio": ratio, "ratio_min": ratio_min})
    tr = train_per_update(a.depth, a.width, a.batch, False, a.repeats, a.stat)
    adam = next(row for row in results["rows"] if row["rule"] == "adam") if "adam" in a.rules else None
    rel = f" = {tr['s'] / adam['ours']['s']:.2f}× the bare Adam step" if adam else ""
    print(f"\nsurfaces.network.train (Adam; records per-layer norms every update, evaluates each epoch): "
          f"{tr['s'] * 1e3:.1f} ms per update{rel}; first call (compiles) {tr['first_call_s']:.1f} s")
    results["train"] = tr
    load1 = os.getloadavg()
    print(f"goal: ours/torch ≤ 1.5×.  total {time.perf_counter() - t_start:.0f} s; load avg at end {load1[0]:.1f}")
    if a.json:
        results["load"] = [load0, load1]
        Path(a.json).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
