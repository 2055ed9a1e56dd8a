"""Descent Lab benchmark, data page: SGD on 5,000 examples × 20 epochs (100,000 updates) in one
``lax.scan`` against a plain NumPy loop of the course's pseudo-code.

    python bench/bench_data.py [--json out.json] [--repeats 3] [--m 5000] [--epochs 20]

Contenders, for each model of surfaces/data.py (linear: least squares; logistic):
  engine  ``optim.run_minibatch`` as the page calls it: shuffles every epoch inside the scan,
          records the parameters at every update (the path the page draws), checks divergence;
  bare    the same updates in a bare jitted ``lax.scan`` (carry W only, the shuffled order given);
  plan    the engine's shuffling alone (``optim.batch_plan`` jitted: a ``jax.random.permutation``
          of the m examples per epoch), to split the engine's time into shuffling and updates;
  given   the proposal for the runner (see ``numpy_plan``): the same scan, the shuffled order drawn
          with NumPy before the call and passed in as data;
  numpy   the course's loop, ``for epoch: for i in order: dW = ∇ℓ(W; x_i, y_i); W = W − α dW``,
          with NumPy arrays and the per-example gradient written by hand.

Fairness: float32 on every side; the same data, learning rate and example order (the NumPy loop
reads the engine's shuffles, so it pays nothing for shuffling and its final W is compared with
the engine's); ``block_until_ready`` on JAX results; compilation excluded and reported apart;
the best of ``--repeats`` timings after a warm-up (the machine is shared: the minimum is the
least disturbed; medians are in the JSON), the contenders timed in turn so that load from other
processes falls on all of them.  Mini-batch 32 and batch GD are timed too, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from optim import batch_plan, run_minibatch  # noqa: E402
from optim.runner import MiniBatch, _prepare, _run_one, _seed  # noqa: E402
from surfaces.data import make_model  # noqa: E402

LR = {"linear": 0.01, "logistic": 0.05}
GOAL = 50.0


def _clock(fn):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def timed(fns: dict, repeats: int) -> dict:
    """First call (compile included), then ``repeats`` rounds calling each in turn: min, median."""
    res = {name: {"first": _clock(fn)[0], "samples": []} for name, fn in fns.items()}
    for _ in range(repeats):
        for name, fn in fns.items():
            t, out = _clock(fn)
            res[name]["samples"].append(t)
            res[name]["out"] = out
    for r in res.values():
        s = r.pop("samples")
        r["median"], r["min"] = statistics.median(s), min(s)
        r["compile"] = max(0.0, r["first"] - r["min"])
    return res


@partial(jax.jit, static_argnums=0)
def bare_scan(per_example_loss, W, X, y, order, lr):
    """SGD in a bare scan: W := W − α ∇ℓ(W; x_i, y_i) for i in the given order."""
    grad = jax.grad(per_example_loss)

    def body(W, i):
        return W - lr * grad(W, X[i], y[i]), None

    return jax.lax.scan(body, W, order)[0]


def numpy_plan(seed: int, m: int, batch: int, epochs: int):
    """``batch_plan`` with NumPy's generator: a permutation per epoch (none for batch GD), split
    into ⌈m / b⌉ mini-batches, the last padded (index 0, mask 0)."""
    rng, bs = np.random.default_rng(seed), min(batch, m)
    nb = -(-m // bs)
    idx = np.zeros((epochs, nb * bs), np.int32)
    for e in range(epochs):
        idx[e, :m] = rng.permutation(m) if bs < m else np.arange(m)
    mask = np.zeros(nb * bs, np.float32)
    mask[:m] = 1
    return idx.reshape(epochs * nb, bs), np.tile(mask.reshape(nb, bs), (epochs, 1))


@dataclass(frozen=True)
class GivenPlan(MiniBatch):
    """The runner's mini-batch problem with the plan passed in as data ``(X, y, idx, mask)``."""

    def plan(self, key, data, steps, x0=None):
        return (data[2], data[3]), jnp.arange(steps) // self.n_batches

    def batch_loss(self, params, data, batch):
        return super().batch_loss(params, data[:2], batch)

    def loss(self, params, data):
        return super().loss(params, data[:2])


def given_plan_run(per_example_loss, x0, X, y, epochs, batch, seed, lr):
    """What ``run_minibatch`` would do with a NumPy plan: same scan, same recording (params)."""
    opt, sched, record, hp, sp = _prepare("gd", "constant", None, None, None, ("params",), {"lr": lr})
    problem = GivenPlan(per_example_loss, len(y), batch)
    idx, mask = numpy_plan(seed, len(y), batch, epochs)
    data = (jnp.asarray(X), jnp.asarray(y), jnp.asarray(idx), jnp.asarray(mask))
    return _run_one(opt, sched, problem, epochs * problem.n_batches, record, False, jnp.asarray(x0), hp, sp,
                    _seed(seed), data).params


def numpy_grad(kind):
    """∇ℓ of one example, by hand: 2 (w x + b − y) (x, 1), or −y x σ(−y wᵀx)."""
    if kind == "linear":
        def g(W, x, y):
            r = W[0] * x + W[1] - y
            return np.array([2 * r * x, 2 * r], np.float32)
    else:
        def g(W, x, y):
            return (-y / (1 + np.exp(y * (W @ x)))) * x
    return g


def numpy_sgd(kind, W, X, y, order, lr):
    """The course's pseudo-code, one example per update, in the order given (epoch after epoch)."""
    grad = numpy_grad(kind)
    W = np.array(W, np.float32)
    lr = np.float32(lr)
    for epoch_order in order:
        for i in epoch_order:
            W = W - lr * grad(W, X[i], y[i])
    return W


def section(kind: str, m: int, epochs: int, repeats: int) -> dict:
    model = make_model(kind, m, 1.0, 0)
    lr, seed = LR[kind], 0
    x0 = np.asarray(model.surface.start, np.float32)
    X, y = model.X, model.y
    idx, _ = batch_plan(jax.random.key(seed), m, 1, epochs)
    order = np.asarray(idx).reshape(epochs, m)
    Xj, yj, oj, x0j = jnp.asarray(X), jnp.asarray(y), jnp.asarray(order.reshape(-1)), jnp.asarray(x0)

    def engine(batch=1):
        return lambda: run_minibatch("gd", model.per_example_loss, x0, X, y, epochs=epochs, batch_size=batch,
                                     seed=seed, lr=lr, record=("params",)).params

    t = timed({"engine": engine(), "bare": lambda: bare_scan(model.per_example_loss, x0j, Xj, yj, oj, lr),
               "numpy": lambda: numpy_sgd(kind, x0, X, y, order, lr)}, repeats)
    plan = jax.jit(partial(batch_plan, m=m, batch_size=1, epochs=epochs))
    t.update(timed({"plan": lambda: plan(jax.random.key(seed)),
                    "given": lambda: given_plan_run(model.per_example_loss, x0, X, y, epochs, 1, seed, lr),
                    "minibatch32": engine(32), "batchgd": engine(m)}, repeats))
    updates = {"engine": epochs * m, "bare": epochs * m, "numpy": epochs * m, "plan": epochs * m, "given": epochs * m,
               "minibatch32": epochs * -(-m // 32), "batchgd": epochs}
    w_engine, w_numpy = np.asarray(t["engine"]["out"][-1]), np.asarray(t["numpy"]["out"])
    return {
        "model": kind, "m": m, "epochs": epochs, "lr": lr,
        "seconds": {k: v["min"] for k, v in t.items()},
        "median_seconds": {k: v["median"] for k, v in t.items()},
        "compile_s": {k: v["compile"] for k, v in t.items() if k != "numpy"},
        "updates": updates,
        "updates_per_s": {k: updates[k] / t[k]["min"] for k in t},
        "speedup_vs_numpy": {k: t["numpy"]["min"] / t[k]["min"] for k in ("engine", "given", "bare")},
        "final_w": {"engine": w_engine.tolist(), "numpy": w_numpy.tolist(),
                    "bare": np.asarray(t["bare"]["out"]).tolist()},
        "max_abs_diff_engine_numpy": float(np.max(np.abs(w_engine - w_numpy))),
    }


def report(rows: list[dict]) -> str:
    out = []
    for r in rows:
        ups, sec = r["updates_per_s"], r["seconds"]
        out.append(f"\n{r['model']} regression, m = {r['m']:,}, {r['epochs']} epochs, SGD (batch 1), α = {r['lr']}")
        out.append(f"  {'contender':<42}{'updates':>12}{'time':>11}{'updates/s':>14}{'vs NumPy':>10}")
        names = {"numpy": "NumPy loop (course pseudo-code)", "engine": "optim.run_minibatch (lax.scan)",
                 "bare": "bare lax.scan", "plan": "  of which: shuffling (batch_plan)",
                 "given": "same, NumPy shuffle passed in (proposed)",
                 "minibatch32": "run_minibatch, mini-batch 32", "batchgd": "run_minibatch, batch GD"}
        for k in ("numpy", "engine", "plan", "given", "bare", "minibatch32", "batchgd"):
            vs = f"{sec['numpy'] / sec[k]:.0f}×" if k in ("engine", "given", "bare") else ""
            n = f"{r['updates'][k]:,}" if k != "plan" else f"{r['epochs']} × {r['m']:,}"
            rate = f"{ups[k]:,.0f}" if k != "plan" else ""
            out.append(f"  {names[k]:<42}{n:>12}{sec[k] * 1e3:>9.1f}ms{rate:>14}{vs:>10}")
        ok = "met" if r["speedup_vs_numpy"]["engine"] >= GOAL else "NOT met"
        out.append(f"  engine vs NumPy: {r['speedup_vs_numpy']['engine']:.0f}× (goal ≥ {GOAL:.0f}×: {ok}); "
                   f"with the NumPy shuffle: {r['speedup_vs_numpy']['given']:.0f}×; "
                   f"bare scan: {r['speedup_vs_numpy']['bare']:.0f}×; compile: "
                   + ", ".join(f"{k} {v:.2f}s" for k, v in r["compile_s"].items()))
        out.append(f"  same updates, same order: |W_engine − W_numpy| ≤ {r['max_abs_diff_engine_numpy']:.1e}")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the numbers to this file")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--m", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args(argv)
    rows = [section(kind, args.m, args.epochs, args.repeats) for kind in ("linear", "logistic")]
    meta = {"jax": jax.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    print(f"jax {meta['jax']}, numpy {meta['numpy']}, {meta['cpus']} CPUs, load average "
          + ", ".join(f"{x:.1f}" for x in meta["load_avg"]) + " (the machine is shared: ratios are robust, times less)")
    print(report(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
