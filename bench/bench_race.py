"""The race page's server-side cost: a warm rerun (6 optimizers × 500 steps: runs + figures +
the JSON Streamlit sends) and the size of that JSON.  `python bench/bench_race.py`."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import plotly.io as pio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optim import OPTIMIZERS, run  # noqa: E402
from optim.metrics import outcome  # noqa: E402
from surfaces import SURFACES  # noqa: E402
from viz.race import RunView, loss_figure, race_figure  # noqa: E402
from viz.style import Style  # noqa: E402
from viz.surface import make_grid, surface_image  # noqa: E402

SIX = ["gd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]
LRS = {"gd": 1e-3, "momentum": 3e-3, "nesterov": 3e-3, "rmsprop": 1e-2, "adam": 3e-2, "nadam": 3e-2}


def rerun(surface, uri, lr_scale: float, steps: int = 500):
    """What a slider move costs the server: six runs, outcomes, both figures, their JSON."""
    runs = []
    for i, name in enumerate(SIX):
        tr = run(name, surface.grad, surface.start, steps, loss_fn=surface.f, lr=LRS[name] * lr_scale)
        p, loss = np.asarray(tr.params), np.asarray(tr.loss)
        o = outcome(p, loss, tr.diverged_at, surface.domain, 1e-3)
        end = tr.diverged_at - 1 if tr.diverged_at else steps
        runs.append(RunView(name, OPTIMIZERS[name].label, p, loss, end, "" if not o.diverged_at else o.verdict, i))
    race = race_figure(uri, surface.domain, surface.minima, surface.start, runs, Style())
    loss = loss_figure(runs, surface.min_value, surface.minima, Style())
    return [pio.to_json(f.to_dict(), validate=False) for f in (race, loss)]


def main():
    s = SURFACES["rosenbrock"]
    t = time.perf_counter()
    uri = surface_image(make_grid(s.f, s.domain, 300), s.log_levels)
    t_img = time.perf_counter() - t
    t = time.perf_counter()
    rerun(s, uri, 1.0)
    cold = time.perf_counter() - t
    times, sizes = [], None
    for k in range(7):
        t = time.perf_counter()
        sizes = [len(j) for j in rerun(s, uri, 1.0 + 0.01 * (k + 1))]  # a new lr: what a slider does
        times.append(time.perf_counter() - t)
    print("race page, Rosenbrock, 6 optimizers × 500 steps")
    print(f"  surface image (300×300, once per surface) : {t_img * 1e3:7.1f} ms")
    print(f"  first rerun (compiles 6 rules)             : {cold * 1e3:7.1f} ms")
    print(f"  warm rerun: runs + figures + JSON (median) : {statistics.median(times) * 1e3:7.1f} ms")
    print(f"  race figure JSON                           : {sizes[0] / 1e6:7.3f} MB")
    print(f"  loss figure JSON                           : {sizes[1] / 1e6:7.3f} MB")


if __name__ == "__main__":
    main()
