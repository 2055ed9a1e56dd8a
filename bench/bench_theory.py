"""What the theory costs: the sharpness estimate (power iteration on Hessian-vector products) as
a ratio to a full-batch training step of the network page, and the race page's theory panel as
time added to a warm rerun (AppTest, the same reruns with the panel on and off, alternated; the minimum and the median).
Ratios and differences measured in one run; none is a test.  `python bench/bench_theory.py`."""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optim import OPTIMIZERS  # noqa: E402
from optim.runner import reusing  # noqa: E402
from surfaces import network as N  # noqa: E402
from surfaces.sharpness import hvp, power_iteration  # noqa: E402
from surfaces.training import make_data  # noqa: E402
from ui.eos_panel import ITERS  # noqa: E402


def timings(calls: dict, repeat: int = 40) -> dict[str, float]:
    """The fastest of ``repeat`` timed calls of each ``(fn, args)``, the calls interleaved so that
    load from other processes hits them alike (the minimum: the least disturbed by that load)."""
    for fn, args in calls.values():
        jax.block_until_ready(fn(*args))
    times = {k: [] for k in calls}
    for _ in range(repeat):
        for k, (fn, args) in calls.items():
            t = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[k].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}


def sharpness_cost(depth: int, width: int, m: int) -> None:
    data = make_data("moons", m, 0.1, 0, 2, 0.25)
    X, y = jnp.asarray(data.X_train), jnp.asarray(data.y_train)
    params = N.init_mlp(0, N.mlp_sizes(depth, width, 2, 1), "xavier")
    opt = OPTIMIZERS["gd"]

    def obj(p):
        return N.objective(p, X, y, "tanh", "least_squares")[0]

    def one_step(p):
        g = jax.grad(obj)(p)
        return opt.step(reusing(g, p, jax.grad(obj)), p, opt.init(p), {"lr": 0.1})[0]

    @jax.jit
    def step(p):  # 100 steps in one loop, as training runs them (no dispatch per step)
        return jax.lax.fori_loop(0, 100, lambda i, q: one_step(q), p)

    grad = jax.jit(jax.grad(obj))
    one_hvp = jax.jit(partial(hvp, obj))
    measure = jax.jit(partial(power_iteration, obj, iters=ITERS))
    t = timings({"step": (step, (params,)), "grad": (grad, (params,)), "hvp": (one_hvp, (params, params)),
                 "measure": (measure, (params, params))})
    t_step, t_grad, t_hvp, t_measure = t["step"] / 100, t["grad"], t["hvp"], t["measure"]
    n = sum(x.size for x in jax.tree.leaves(params))
    print(f"  {depth} × {width} tanh, {len(y)} examples ({n:,} parameters): training step {t_step * 1e6:8.1f} µs; "
          f"one HVP / one gradient = {t_hvp / t_grad:4.2f}; one sharpness estimate ({ITERS} + 1 HVPs) = "
          f"{t_measure / t_step:5.1f} training steps; every 10 steps: +{t_measure / t_step / 10:.0%} per step")


def panel_cost(repeat: int = 15) -> None:
    from streamlit.testing.v1 import AppTest

    def rerun(theory: bool, lr: str) -> float:
        at = AppTest.from_file(str(ROOT / "app_pages" / "race.py"), default_timeout=300)
        at.query_params.update({"theory": "1" if theory else "0", "gd.lr": lr})
        t = time.perf_counter()
        at.run()
        assert not at.exception, at.exception
        return time.perf_counter() - t

    for theory in (True, False):  # warm: runs, surface pictures, Hessians cached
        for lr in ("0.01", "0.015"):
            rerun(theory, lr)
    on, off = [], []
    for k in range(repeat):
        lr = ("0.01", "0.015")[k % 2]
        on.append(rerun(True, lr))
        off.append(rerun(False, lr))
    for stat in (min, statistics.median):
        a, b = stat(on), stat(off)
        print(f"  race page (defaults, 4 optimizers × 300 steps), warm AppTest run ({stat.__name__} of {repeat}): "
              f"with the panel {a * 1e3:6.1f} ms, without {b * 1e3:6.1f} ms: the panel adds {(a - b) * 1e3:+6.1f} ms "
              f"({a / b:4.2f}×)")


def panel_work(repeat: int = 30) -> None:
    """What the panel computes and sends on a rerun, without Streamlit: the rates (measured and
    predicted), the best slider settings, the envelope and the stability map, and their JSON."""
    import numpy as np
    from plotly.io.json import to_json_plotly

    from optim import theory as T
    from optim.runner import surface_record
    from surfaces import SURFACES
    from ui.theory_panel import _options
    from viz.style import Style, color_of
    from viz.theory import Dots, envelope_figure, stability_map_figure

    s, style = SURFACES["bowl"], Style()
    names = ["gd", "momentum", "rmsprop", "adam"]
    recs = {n: surface_record(s, n, s.start, 300) for n in names}
    model = T.local_model(s.f, s.start)
    grids = {n: (_options(n, "lr"), _options(n, "beta") if n != "gd" else (0.0,)) for n in ("gd", "momentum")}

    def work() -> int:
        curves, dots = [], []
        for i, (n, rec) in enumerate(recs.items()):
            dist = np.linalg.norm(np.asarray(rec["params"], np.float64), axis=1)
            T.measured_rate(dist, 1e-30 * dist[0])
            curve = dict(name=n, label=n, color=color_of(n, i), gap=np.asarray(rec["loss"], np.float64))
            if n in grids:
                hp = {"lr": 0.01, "beta": 0.9 if n != "gd" else 0.0}
                rho = T.worst_rate(n, hp, model.mu, model.L)
                T.best_on_grid(n, model.mu, model.L, *grids[n])
                curve.update(rho=rho, envelope=T.envelope(rho, curve["gap"], 150, 300, 2)[1])
                dots.append(Dots(n, n, 0.01 * model.eigvals, hp["beta"], model.eigvals, color_of(n, i)))
            curves.append(curve)
        figs = [envelope_figure(curves, style), stability_map_figure(["momentum"], dots, style)]
        return sum(len(to_json_plotly(f.to_plotly_json())) for f in figs)

    size = work()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    print(f"  the panel's own work on the default race (rates, best settings, 2 figures and their JSON, "
          f"{size / 1e3:.0f} kB): {min(times) * 1e3:5.1f} ms (min of {repeat}), "
          f"{statistics.median(times) * 1e3:5.1f} ms (median), Streamlit's elements apart")


def main():
    print("sharpness estimate vs a full-batch training step (jitted, fastest of 40 interleaved calls)")
    sharpness_cost(2, 16, 300)
    sharpness_cost(3, 64, 1000)
    print("theory panel on the race page")
    panel_work()
    panel_cost()


if __name__ == "__main__":
    main()
