"""Descent Lab benchmark: the engine against optax and against a plain NumPy loop, in one run.

    python bench/bench.py [--json out.json] [--repeats 5]

Sections (bench/README.md says what each number means):
  1. time per step of every rule in a bare jitted ``lax.scan`` (carry (params, state), final
     params only) against optax's equivalent in the same bare scan, and of the full ``optim.run``
     (which records params, loss, grads, lr and state every step), on a 10,000-d quadratic and on
     the 2-D Rosenbrock;
  2. ``optim.run`` on the 2-D Rosenbrock against the course formula written as a NumPy for-loop
     with a hand-written gradient;
  3. ``optim.run_many``: 10,000 start points vmapped × 500 steps of Adam on the Rosenbrock;
  4. compile times (first call minus warm call);
  5. recompilations when hyperparameters and schedule parameters change (goal 0).

Fairness: float32 everywhere; the same problem and number of steps on both sides; every JAX side
jitted with its hyperparameters passed as traced arguments; the bare scans return the final
params only; ``block_until_ready`` on every result; compile excluded (reported apart); the median
(``--stat min``: the minimum) of ``--repeats`` timings after a warm-up call, the contenders timed
alternately so that load from other processes falls on both.
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
import optax  # noqa: E402

from optim import OPTIMIZERS, run, run_many  # noqa: E402
from optim.runner import compile_count  # noqa: E402
from surfaces import SURFACES  # noqa: E402

ROSEN = SURFACES["rosenbrock"]

# Plain GD, momentum and Nesterov blow up on the Rosenbrock from its start point at the registry's
# default rate (the curvature there is ~1700); every other value is the registry's default.
ROSEN_LR = {"gd": 5e-4, "momentum": 5e-4, "nesterov": 5e-4, "radam": 5e-4, "sam": 5e-4}

# The optax equivalent of each rule's course convention, built from traced hyperparameters.
OPTAX = {
    "gd": lambda h: optax.sgd(h["lr"]),
    "momentum": lambda h: optax.sgd(h["lr"] * (1 - h["beta"]), momentum=h["beta"]),
    "nesterov": lambda h: optax.sgd(h["lr"] * (1 - h["beta"]), momentum=h["beta"], nesterov=True),
    "rmsprop": lambda h: optax.rmsprop(h["lr"], decay=h["beta"], eps=h["eps"], eps_in_sqrt=True),
    "adam": lambda h: optax.adam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    "adamax": lambda h: optax.adamax(h["lr"], h["beta1"], h["beta2"], eps=h["eps"]),
    "nadam": lambda h: optax.nadam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    "adagrad": lambda h: optax.adagrad(h["lr"], initial_accumulator_value=0.0, eps=h["eps"]),
    "adamw": lambda h: optax.adamw(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"],
                                   weight_decay=h["weight_decay"]),
    "amsgrad": lambda h: optax.amsgrad(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    "adadelta": lambda h: optax.adadelta(h["lr"], rho=h["beta"], eps=h["eps"]),
    "radam": lambda h: optax.radam(h["lr"], h["beta1"], h["beta2"], eps=0.0, eps_root=h["eps"]),
    "lion": lambda h: optax.lion(h["lr"], h["beta1"], h["beta2"], weight_decay=h["weight_decay"]),
    "schedule_free": lambda h: optax.contrib.schedule_free(
        optax.chain(optax.scale_by_rms(decay=h["beta2"], eps=h["eps"], eps_in_sqrt=True, bias_correction=True),
                    optax.add_decayed_weights(h["weight_decay"]), optax.scale_by_learning_rate(h["lr"])),
        learning_rate=h["lr"], b1=h["beta1"]),
    # on a vector optax's Muon is its Adam fallback: compared with ε outside the root there
    "muon": lambda h: optax.contrib.muon(h["lr"], beta=h["beta"], eps=h["eps"], adam_b1=h["beta1"],
                                         adam_b2=h["beta2"]),
    "sam": lambda h: optax.contrib.sam(optax.sgd(h["lr"]), optax.chain(optax.contrib.normalize(), optax.sgd(h["rho"])),
                                       sync_period=2, opaque_mode=True),
}
# optax entries that need the gradient function in their update (SAM's second gradient)
NEEDS_GRAD_FN = {"sam"}
# The pytorch convention of the rule is optax's equivalent (ε outside the root).
OURS_CONVENTION = {"muon": "pytorch"}

# optax's Nesterov tracks the look-ahead point, the course's tracks W: the same iteration seen
# from another point, so their final params differ by design; schedule-free: optax's params are y,
# the rule's are x.
SAME_PATH_EXCEPTIONS = {"nesterov", "schedule_free"}


# --- timing ---------------------------------------------------------------------------------------

# The statistic of the repeated timings that the report uses: the median (default), or the minimum
# (``--stat min``), steadier when other processes load the machine.
STAT = "median"


def _clock(fn):
    """Seconds of one call of ``fn`` until its result is ready, and the result."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def timed_group(fns: dict, repeats: int) -> dict:
    """The first call of each callable (compile included), then ``repeats`` rounds calling them
    in turn.  Returns {name: {"first", "median", "min", "s", "compile" (seconds), "out"}}, where
    ``s`` is the statistic the report uses (``STAT``)."""
    res = {}
    for name, fn in fns.items():
        first, out = _clock(fn)
        res[name] = {"first": first, "out": out, "samples": []}
    for _ in range(repeats):
        for name, fn in fns.items():
            res[name]["samples"].append(_clock(fn)[0])
    for r in res.values():
        samples = r.pop("samples")
        r["median"], r["min"] = statistics.median(samples), min(samples)
        r["s"] = r[STAT]
        r["compile"] = max(0.0, r["first"] - r["s"])
    return res


def _raw(t: dict) -> dict:
    """Every statistic of a timed group, in seconds, for the JSON output."""
    return {k: {f: v[f] for f in ("first", "median", "min")} for k, v in t.items()}


def _rel_diff(a, b) -> float:
    """max |a − b| / max(1, max |b|)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


# --- the problems ---------------------------------------------------------------------------------


def quadratic(dim: int, steps: int):
    """f(x) = ½ Σ dᵢ (xᵢ − cᵢ)², dᵢ ∈ [0.1, 1] fixed at random: the minimum is away from 0 (no
    denormals as x converges) and the gradient is one fused multiply-add per coordinate, so the
    time measured is the rule's own arithmetic on 10,000 floats."""
    rng = np.random.default_rng(0)
    d = jnp.asarray(rng.uniform(0.1, 1.0, dim), jnp.float32)
    c = jnp.asarray(rng.normal(size=dim), jnp.float32)
    x0 = jnp.asarray(3 * rng.normal(size=dim), jnp.float32)

    def loss(x):
        return 0.5 * jnp.sum(d * (x - c) ** 2)

    return {"key": "quad", "name": f"quadratic {dim:,}-d", "loss": loss, "grad": jax.grad(loss),
            "x0": x0, "lr": {}, "steps": steps}


def rosenbrock(steps: int):
    """The app's case: two parameters, so every step is overhead (dispatch of tiny kernels)."""
    return {"key": "rosen", "name": "Rosenbrock 2-d", "loss": ROSEN.f, "grad": ROSEN.grad,
            "x0": jnp.asarray(ROSEN.start, jnp.float32), "lr": ROSEN_LR, "steps": steps}


def hyperparameters(name: str, problem) -> dict[str, float]:
    hp = dict(OPTIMIZERS[name].defaults)
    hp["lr"] = problem["lr"].get(name, hp["lr"])
    return {k: float(v) for k, v in hp.items()}


# --- 1. the bare scans ----------------------------------------------------------------------------


def ours_bare(name: str, grad_fn, steps: int):
    """The rule's own ``step`` in a bare scan: carry (params, state), nothing recorded."""
    opt = OPTIMIZERS[name].with_options(convention=OURS_CONVENTION.get(name, "course"))

    @jax.jit
    def final(x0, hp):
        def body(carry, _):
            p, s = carry
            return opt.step(grad_fn, p, s, hp), None

        (p, _), _ = jax.lax.scan(body, (x0, opt.init(x0)), None, length=steps)
        return p

    return final


def optax_bare(name: str, grad_fn, steps: int):
    """optax's equivalent in the same bare scan, its hyperparameters traced the same way."""
    make = OPTAX[name]

    @jax.jit
    def final(x0, hp):
        tx = make(hp)

        extra = {"grad_fn": lambda q, i: grad_fn(q)} if name in NEEDS_GRAD_FN else {}

        def body(carry, _):
            p, s = carry
            updates, s = tx.update(grad_fn(p), s, p, **extra)
            return (optax.apply_updates(p, updates), s), None

        (p, _), _ = jax.lax.scan(body, (x0, tx.init(x0)), None, length=steps)
        return p

    return final


def section_engine(problem, repeats: int) -> list[dict]:
    """Per rule: the bare scans (ours and optax, alternated, 3× the repeats: they are cheap and
    their ratio is the headline), then the full ``optim.run``."""
    rows = []
    x0, grad_fn, loss_fn, steps = problem["x0"], problem["grad"], problem["loss"], problem["steps"]
    for name in OPTIMIZERS:
        hp = hyperparameters(name, problem)
        ours = ours_bare(name, grad_fn, steps)
        fns = {"ours": lambda: ours(x0, hp)}
        if name in OPTAX:
            theirs = optax_bare(name, grad_fn, steps)
            fns["optax"] = lambda: theirs(x0, hp)
        t = timed_group(fns, 3 * repeats)
        t.update(timed_group({"run": lambda: run(name, grad_fn, x0, steps, loss_fn=loss_fn, **hp)}, repeats))
        traj = t["run"]["out"]
        row = {
            "optimizer": name,
            "us_per_step": {k: 1e6 * t[k]["s"] / steps for k in t},
            "seconds": _raw(t),
            "compile_ms": {k: 1e3 * t[k]["compile"] for k in t},
            "run_over_bare": t["run"]["s"] / t["ours"]["s"],
            "diff_run_vs_bare": _rel_diff(traj.params[-1], t["ours"]["out"]),
            "finite": bool(np.all(np.isfinite(np.asarray(t["ours"]["out"]))) and traj.diverged_at is None),
        }
        if "optax" in t:
            row["ours_over_optax"] = t["ours"]["s"] / t["optax"]["s"]
            row["diff_vs_optax"] = _rel_diff(t["ours"]["out"], t["optax"]["out"])
        rows.append(row)
    return rows


def plain_recording(name: str, grad_fn, loss_fn, steps: int):
    """A plain scan recording what ``optim.run`` records (params, loss, grads, lr, state) as scan
    outputs, without run's divergence guard, schedule or prepended initial values: the price of
    the recording alone."""
    opt = OPTIMIZERS[name]

    @jax.jit
    def trajectory(x0, hp):
        def body(carry, _):
            p, s = carry
            p_new, s_new = opt.step(grad_fn, p, s, hp)
            return (p_new, s_new), (p_new, loss_fn(p), grad_fn(p), hp["lr"], s_new)

        return jax.lax.scan(body, (x0, opt.init(x0)), None, length=steps)[1]

    return trajectory


def section_overhead(problem, repeats: int, name: str = "adam") -> dict:
    """Where ``optim.run``'s time goes, for one rule: bare scan < plain scan recording the same
    fields < run recording them; and run recording nothing (its guard and schedule alone)."""
    x0, grad_fn, loss_fn, steps = problem["x0"], problem["grad"], problem["loss"], problem["steps"]
    hp = hyperparameters(name, problem)
    bare, rec = ours_bare(name, grad_fn, steps), plain_recording(name, grad_fn, loss_fn, steps)
    t = timed_group({
        "bare scan": lambda: bare(x0, hp),
        "plain scan recording all": lambda: rec(x0, hp),
        "run recording all": lambda: run(name, grad_fn, x0, steps, loss_fn=loss_fn, **hp),
        "run recording nothing": lambda: run(name, grad_fn, x0, steps, loss_fn=loss_fn, record=(), **hp),
    }, repeats)
    return {"optimizer": name, "us_per_step": {k: 1e6 * v["s"] / steps for k, v in t.items()}, "seconds": _raw(t)}


# --- 2. the NumPy loops: the course formulas, float32, a hand-written Rosenbrock gradient --------


def rosen_grad_np(w):
    """∇[(1 − x)² + 100 (y − x²)²] = (−2 (1 − x) − 400 x (y − x²), 200 (y − x²))."""
    x, y = w[0], w[1]
    r = y - x * x
    return np.array([-2 * (1 - x) - 400 * x * r, 200 * r], np.float32)


def np_gd(w, steps, grad, lr):
    for _ in range(steps):
        w = w - lr * grad(w)
    return w


def np_momentum(w, steps, grad, lr, beta):
    v = np.zeros_like(w)
    for _ in range(steps):
        v = beta * v + (1 - beta) * grad(w)
        w = w - lr * v
    return w


def np_nesterov(w, steps, grad, lr, beta):
    v = np.zeros_like(w)
    for _ in range(steps):
        v = beta * v + (1 - beta) * grad(w - lr * beta * v)
        w = w - lr * v
    return w


def np_rmsprop(w, steps, grad, lr, beta, eps):
    s = np.zeros_like(w)
    for _ in range(steps):
        g = grad(w)
        s = beta * s + (1 - beta) * g * g
        w = w - lr * g / np.sqrt(s + eps)
    return w


def np_adam(w, steps, grad, lr, beta1, beta2, eps, weight_decay=0.0):
    v, s = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        g = grad(w)
        v = beta1 * v + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g * g
        w = w - lr * ((v / (1 - beta1**t)) / np.sqrt(s / (1 - beta2**t) + eps) + weight_decay * w)
    return w


def np_adamax(w, steps, grad, lr, beta1, beta2, eps):
    v, u = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        g = grad(w)
        v = beta1 * v + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        w = w - lr / (1 - beta1**t) * v / u
    return w


def np_nadam(w, steps, grad, lr, beta1, beta2, eps):
    v, s = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        g = grad(w)
        v = beta1 * v + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g * g
        v_bar = beta1 * v / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)
        w = w - lr * v_bar / np.sqrt(s / (1 - beta2**t) + eps)
    return w


def np_adagrad(w, steps, grad, lr, eps):
    s = np.zeros_like(w)
    for _ in range(steps):
        g = grad(w)
        s = s + g * g
        w = w - lr * g / np.sqrt(s + eps)
    return w


NUMPY_LOOPS = {"gd": np_gd, "momentum": np_momentum, "nesterov": np_nesterov, "rmsprop": np_rmsprop,
               "adam": np_adam, "adamax": np_adamax, "nadam": np_nadam, "adagrad": np_adagrad,
               "adamw": np_adam}

# The app's typical run length: the wall time of one such call is what a slider move waits for.
APP_STEPS = 500
APP_SIZED = ("gd", "momentum", "adam")


def section_numpy(problem, repeats: int) -> list[dict]:
    rows = []
    x0 = np.asarray(ROSEN.start, np.float32)
    steps = problem["steps"]
    for name in OPTIMIZERS:
        if name not in NUMPY_LOOPS:
            continue
        hp = hyperparameters(name, problem)
        loop = NUMPY_LOOPS[name]
        fns = {
            "numpy": lambda n=steps: loop(x0.copy(), n, rosen_grad_np, **hp),
            "ours": lambda n=steps: run(name, ROSEN.grad, x0, n, loss_fn=ROSEN.f, **hp),
        }
        t = timed_group(fns, repeats)
        row = {
            "optimizer": name,
            "steps_per_s": {k: steps / t[k]["s"] for k in t},
            "seconds": _raw(t),
            "speedup": t["numpy"]["s"] / t["ours"]["s"],
            "diff": _rel_diff(t["ours"]["out"].params[-1], t["numpy"]["out"]),
        }
        if name in APP_SIZED:
            t = timed_group({k: (lambda f=f: f(APP_STEPS)) for k, f in fns.items()}, repeats)
            row["app_call_ms"] = {k: 1e3 * t[k]["s"] for k in t}
            row["app_speedup"] = t["numpy"]["s"] / t["ours"]["s"]
        rows.append(row)
    return rows


# --- 3. run_many ----------------------------------------------------------------------------------


def section_run_many(points: int, steps: int, repeats: int) -> dict:
    (xmin, xmax), (ymin, ymax) = ROSEN.domain
    rng = np.random.default_rng(1)
    x0s = np.stack([rng.uniform(xmin, xmax, points), rng.uniform(ymin, ymax, points)], 1).astype(np.float32)
    hp = hyperparameters("adam", rosenbrock(steps))
    t = timed_group({"many": lambda: run_many("adam", ROSEN.grad, x0s, steps, loss_fn=ROSEN.f, **hp)},
                    repeats)["many"]
    traj = t["out"]
    return {
        "points": points, "steps": steps, "wall_s": t["s"], "compile_ms": 1e3 * t["compile"],
        "point_steps_per_s": points * steps / t["s"], "params_shape": list(traj.params.shape),
        "diverged_runs": int(np.sum(np.asarray(traj.diverged_step) >= 0)),
    }


# --- 6. the runner as the pages call it, against optax recording the same fields -----------------------


def optax_recording(grad_fn, loss_fn, steps: int, vmapped: bool = False):
    """optax's Adam (the course's ε) in a ``lax.scan`` that records what ``run`` records when asked
    for params, loss and gradient (run_many: params and loss), the initial point prepended as run
    does; vmapped over start points for run_many's comparison."""
    def trajectory(x0, hp):
        tx = optax.adam(hp["lr"], hp["beta1"], hp["beta2"], eps=0.0, eps_root=hp["eps"])

        def body(carry, _):
            p, s = carry
            g = grad_fn(p)
            u, s = tx.update(g, s, p)
            p = optax.apply_updates(p, u)
            return (p, s), (p, loss_fn(p)) if vmapped else (p, loss_fn(p), g)

        out = jax.lax.scan(body, (x0, tx.init(x0)), None, length=steps)[1]
        return (jnp.concatenate([x0[None], out[0]]), jnp.concatenate([loss_fn(x0)[None], out[1]]), *out[2:])

    return jax.jit(jax.vmap(trajectory, in_axes=(0, None)) if vmapped else trajectory)


def section_runner(repeats: int, grid: int = 64, many_steps: int = 500) -> list[dict]:
    """``run("adam", ...)`` at 1,000 and 20,000 steps recording params, loss and gradient, and
    recording everything (its default); ``run_many`` on a grid × grid sweep of start points ×
    ``many_steps`` recording params and loss; each against optax's scan recording the same."""
    x0 = np.asarray(ROSEN.start, np.float32)
    hp = hyperparameters("adam", rosenbrock(1))
    rows = []
    for steps in (1000, 20_000):
        theirs = optax_recording(ROSEN.grad, ROSEN.f, steps)
        t = timed_group({
            "optax": lambda: theirs(x0, hp),
            "run params+loss+grads": lambda: run("adam", ROSEN.grad, x0, steps, loss_fn=ROSEN.f,
                                                 record=("params", "loss", "grads"), **hp),
            "run everything": lambda: run("adam", ROSEN.grad, x0, steps, loss_fn=ROSEN.f, **hp),
        }, repeats * (20 if steps == 1000 else 2))
        rows.append({"case": f"run adam, {steps:,} steps", "steps": steps,
                     "ms": {k: 1e3 * v["s"] for k, v in t.items()},
                     "diff": _rel_diff(t["run everything"]["out"].params, t["optax"]["out"][0])})
    (xmin, xmax), (ymin, ymax) = ROSEN.domain
    xx, yy = np.meshgrid(np.linspace(xmin, xmax, grid), np.linspace(ymin, ymax, grid))
    x0s = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
    theirs = optax_recording(ROSEN.grad, ROSEN.f, many_steps, vmapped=True)
    x0s_j = jnp.asarray(x0s)
    t = timed_group({
        "optax": lambda: theirs(x0s_j, hp),
        "run_many params+loss": lambda: run_many("adam", ROSEN.grad, x0s, many_steps, loss_fn=ROSEN.f, **hp),
    }, repeats)
    rows.append({"case": f"run_many adam, {grid}x{grid} starts x {many_steps} steps", "steps": many_steps,
                 "ms": {k: 1e3 * v["s"] for k, v in t.items()}})
    return rows


# --- 5. recompilations ----------------------------------------------------------------------------


class XlaCompiles:
    """Counts XLA compilations of every jitted function in the process, not only the runner's."""

    def __init__(self):
        self.n = 0
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.n += 1


def section_recompiles(xla: XlaCompiles, steps: int = 200, calls: int = 20) -> dict:
    """Each case: one call to compile its configuration, then ``calls`` calls with new values;
    the increase of the runner's jit caches and of XLA compilations over those calls."""
    x0 = np.asarray(ROSEN.start, np.float32)
    rng = np.random.default_rng(2)
    n = 64
    x0s = (x0 + rng.normal(size=(n, 2))).astype(np.float32)
    u = rng.uniform
    lg = lambda lo, hi, size=None: 10 ** u(lo, hi, size)
    out = {}

    def measure(label, call, n_calls=calls):
        jax.block_until_ready(call(0))
        c0, x0_ = compile_count(), xla.n
        for i in range(1, n_calls + 1):
            jax.block_until_ready(call(i))
        out[label] = {"calls": n_calls, "runner_cache": compile_count() - c0, "xla": xla.n - x0_}

    measure("run adam: lr, beta1, beta2, eps, exp-decay k", lambda i: run(
        "adam", ROSEN.grad, x0, steps, loss_fn=ROSEN.f, schedule="exponential", schedule_params={"k": lg(-4, -2)},
        lr=lg(-3.5, -1.5), beta1=u(0.5, 0.99), beta2=u(0.9, 0.9999), eps=lg(-10, -4)))
    measure("run momentum: lr, beta, step-decay gamma, s", lambda i: run(
        "momentum", ROSEN.grad, x0, steps, loss_fn=ROSEN.f, schedule="step",
        schedule_params={"gamma": u(0.1, 0.9), "step_size": float(rng.integers(10, 300))},
        lr=lg(-4, -3), beta=u(0.0, 0.99)))
    measure("run rmsprop: lr, beta, eps, noise, seed", lambda i: run(
        "rmsprop", ROSEN.grad, x0, steps, loss_fn=ROSEN.f, noise=u(0, 1), seed=i,
        lr=lg(-3, -1), beta=u(0.5, 0.99), eps=lg(-10, -4)))
    measure("run_many adam: shared lr, beta1, eps", lambda i: run_many(
        "adam", ROSEN.grad, x0s, steps, loss_fn=ROSEN.f, lr=lg(-3, -1), beta1=u(0.5, 0.99), eps=lg(-10, -4)))
    measure("run_many adam: per-run lr, beta2, time-decay k", lambda i: run_many(
        "adam", ROSEN.grad, x0s, steps, loss_fn=ROSEN.f, schedule="time", schedule_params={"k": lg(-4, -1, n)},
        lr=lg(-3, -1, n), beta2=u(0.9, 0.9999, n)))
    # A control: the step count is static, so each new value must show up as one compilation.
    measure("control: 3 new step counts (expect +3)", lambda i: run(
        "adam", ROSEN.grad, x0, steps + 1 + i, loss_fn=ROSEN.f), n_calls=3)
    return out


# --- report ---------------------------------------------------------------------------------------


def machine_info() -> dict:
    return {
        "python": platform.python_version(), "platform": platform.platform(),
        "jax": jax.__version__, "optax": optax.__version__, "numpy": np.__version__,
        "devices": [str(d) for d in jax.devices()], "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _table(headers, rows) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(
        f"{str(c):<{w}}" if i == 0 else f"{str(c):>{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return "\n".join(["  " + fmt(headers), "  " + fmt(["-" * w for w in widths]), *("  " + fmt(r) for r in rows)])


def _load(avg) -> str:
    return " ".join(f"{x:.2f}" for x in avg) if avg else "n/a"


def _x(v, digits=2):
    return "" if v is None else f"{v:.{digits}f}x"


def report(res) -> str:
    m, cfg = res["machine"], res["config"]
    out = [
        "Descent Lab benchmark",
        f"jax {m['jax']}  optax {m['optax']}  numpy {m['numpy']}  python {m['python']}",
        f"devices: {', '.join(m['devices'])}  cpu_count: {m['cpu_count']}  load avg at start: {_load(m['loadavg'])}",
        f"float32; {cfg['stat']} of {cfg['repeats']} warm calls ({3 * cfg['repeats']} for the bare scans), contenders "
        "alternated; compile excluded",
        "",
    ]
    for problem in res["engine"]:
        steps = problem["steps"]
        out.append(f"1. us per step, {problem['problem']}, {steps:,} steps: bare lax.scan of opt.step vs optax's "
                   "equivalent; optim.run (records params, loss, grads, lr, state)")
        rows = []
        for r in problem["rows"]:
            us = r["us_per_step"]
            diff = "n/a" if "diff_vs_optax" not in r else f"{r['diff_vs_optax']:.0e}"
            if r["optimizer"] in SAME_PATH_EXCEPTIONS:
                diff += " (another point)"
            rows.append([
                r["optimizer"], f"{us['ours']:.3f}", f"{us['optax']:.3f}" if "optax" in us else "n/a",
                _x(r.get("ours_over_optax")), f"{us['run']:.3f}", _x(r["run_over_bare"], 1),
                diff + ("" if r["finite"] else " DIVERGED"),
            ])
        out.append(_table(["optimizer", "ours", "optax", "ours/optax", "run", "run/ours",
                           "params |ours-optax|"], rows))
        with_optax = [r for r in problem["rows"] if "ours_over_optax" in r]
        worst = max(with_optax, key=lambda r: r["ours_over_optax"])
        gm = statistics.geometric_mean([r["ours_over_optax"] for r in with_optax])
        out.append(f"  ours/optax: geometric mean {gm:.2f}x, worst {worst['optimizer']} "
                   f"{worst['ours_over_optax']:.2f}x (goal <= 1.10x); run's last params vs the bare scan's: "
                   f"max diff {max(r['diff_run_vs_bare'] for r in problem['rows']):.0e}")
        ov = problem["overhead"]
        base = ov["us_per_step"]["bare scan"]
        out.append(f"  where run's time goes ({ov['optimizer']}, us/step): " + ", ".join(
            f"{k} {v:.3f} ({v / base:.1f}x)" for k, v in ov["us_per_step"].items()))
        out.append("")

    steps = res["numpy_steps"]
    out.append(f"2. optim.run (records everything) vs a NumPy for-loop, Rosenbrock 2-d, {steps:,} steps; "
               f"and one {APP_STEPS}-step call (the app's size)")
    rows = []
    for r in res["numpy"]:
        app = r.get("app_call_ms")
        rows.append([
            r["optimizer"], f"{r['steps_per_s']['numpy']:,.0f}", f"{r['steps_per_s']['ours']:,.0f}",
            f"{r['speedup']:,.1f}x", f"{app['numpy']:.2f}" if app else "", f"{app['ours']:.2f}" if app else "",
            f"{r['app_speedup']:.1f}x" if app else "", f"{r['diff']:.0e}",
        ])
    out.append(_table(["optimizer", "numpy steps/s", "run steps/s", "speed-up", f"numpy {APP_STEPS} ms",
                       f"run {APP_STEPS} ms", "speed-up", "params |run-numpy|"], rows))
    low = min(res["numpy"], key=lambda r: r["speedup"])
    out.append(f"  lowest speed-up: {low['optimizer']} {low['speedup']:,.1f}x (goal >= 200x)")
    out.append("")

    rm = res["run_many"]
    out += [
        f"3. run_many adam, Rosenbrock: {rm['points']:,} start points x {rm['steps']} steps, recording params "
        f"{tuple(rm['params_shape'])} and loss",
        f"  wall {1e3 * rm['wall_s']:.0f} ms = {rm['point_steps_per_s'] / 1e6:.2f} M point-steps/s; "
        f"diverged runs {rm['diverged_runs']}",
        "",
    ]

    out.append("4. compile time, first call minus warm call (ms)")
    headers, rows = ["optimizer"], {}
    for problem in res["engine"]:
        k = problem["key"]
        headers += [f"{k} bare", f"{k} optax", f"{k} run"]
        for r in problem["rows"]:
            c = r["compile_ms"]
            rows.setdefault(r["optimizer"], [r["optimizer"]]).extend(
                f"{c[f]:.0f}" if f in c else "n/a" for f in ("ours", "optax", "run"))
    out.append(_table(headers, list(rows.values())))
    out.append(f"  run_many ({rm['points']:,} x {rm['steps']}, adam): {rm['compile_ms']:.0f} ms")
    out.append("")

    out.append("6. the runner as the pages call it vs optax's lax.scan recording the same (ms per call, Rosenbrock)")
    rows = []
    for r in res["runner"]:
        ms = r["ms"]
        for k, v in ms.items():
            if k != "optax":
                rows.append([r["case"], k, f"{ms['optax']:.3f}", f"{v:.3f}", _x(v / ms["optax"])])
    out.append(_table(["case", "ours", "optax ms", "ours ms", "ours/optax"], rows))
    out.append("  goals: run <= 1.5x per call at 1,000 steps, <= 1.2x per step (20,000); run_many <= 1.2x")
    out.append("")

    out.append("5. recompilations over calls whose values change (goal 0)")
    rows = [[label, r["calls"], f"+{r['runner_cache']}", f"+{r['xla']}"] for label, r in res["recompiles"].items()]
    out.append(_table(["values changed between calls", "calls", "runner jit caches", "XLA compiles"], rows))
    out.append("")
    out.append(f"total {res['total_s']:.0f} s; load avg at end: {_load(m.get('loadavg_end'))}")
    return "\n".join(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per measurement, after a warm-up")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="statistic of the timed calls (min is steadier on a loaded machine)")
    ap.add_argument("--dim", type=int, default=10_000, help="dimension of the quadratic")
    ap.add_argument("--quad-steps", type=int, default=2_000, help="steps per run on the quadratic")
    ap.add_argument("--rosen-steps", type=int, default=20_000,
                    help="steps per run on the Rosenbrock (sections 1 and 2; many, so that dispatch is amortized)")
    ap.add_argument("--points", type=int, default=10_000, help="start points in run_many")
    ap.add_argument("--many-steps", type=int, default=500, help="steps per run in run_many")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    global STAT
    STAT = args.stat
    start = time.perf_counter()
    xla = XlaCompiles()
    res = {"machine": machine_info(), "config": vars(args)}
    problems = [quadratic(args.dim, args.quad_steps), rosenbrock(args.rosen_steps)]
    res["engine"] = [{"key": p["key"], "problem": p["name"], "steps": p["steps"],
                      "rows": section_engine(p, args.repeats), "overhead": section_overhead(p, args.repeats)}
                     for p in problems]
    res["numpy_steps"] = args.rosen_steps
    res["numpy"] = section_numpy(problems[1], args.repeats)
    res["run_many"] = section_run_many(args.points, args.many_steps, args.repeats)
    res["runner"] = section_runner(args.repeats)
    res["recompiles"] = section_recompiles(xla)
    res["skipped"] = {"optax": sorted(set(OPTIMIZERS) - set(OPTAX)),
                      "numpy": sorted(set(OPTIMIZERS) - set(NUMPY_LOOPS))}
    res["machine"]["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    res["total_s"] = time.perf_counter() - start
    text = report(res)
    if any(res["skipped"].values()):
        text += f"\nnot compared (no equivalent written yet): {res['skipped']}"
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    return res


if __name__ == "__main__":
    main()
