"""Learning-rate decay: the schedules' α_t against t, the runs they drive (drawn by the race's
figure builders, coloured per schedule) and their results table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optim.metrics import diagnose_divergence, settled_loss, steps_to_tolerance
from optim.schedules import SCHEDULES
from viz.race import RunView, loss_figure
from viz.style import LOG_AXIS, Style, base_layout
from viz.tables import counts

# Okabe–Ito: the constant rate in vermillion (the baseline the decays are compared with).
SCHEDULE_COLORS = {
    "constant": "#D55E00",
    "time": "#56B4E9",
    "step": "#009E73",
    "exponential": "#CC79A7",
    "cosine": "#0072B2",
    "warmup": "#999933",
    "warmup_cosine": "#882255",
}
_FALLBACK = "#999999"


def schedule_color(name: str) -> str:
    """The colour of a schedule, the same in every figure of the page."""
    return SCHEDULE_COLORS.get(name, _FALLBACK)


@dataclass(frozen=True)
class ScheduleRun(RunView):
    """A run named by its schedule (``name`` is a SCHEDULES key), coloured by the schedule."""

    @property
    def color(self) -> str:
        return schedule_color(self.name)


def schedule_runs(records: Mapping[str, Mapping[str, Any]], loss_fn: Callable | None = None) -> list[ScheduleRun]:
    """One ScheduleRun per schedule's run record (params, loss, diverged_at); a diverged run is
    drawn up to its last finite step, with a note saying why it diverged (``loss_fn``, the
    surface's f, lets the diagnosis measure the curvature)."""
    out = []
    for i, (name, rec) in enumerate(records.items()):
        div = rec["diverged_at"]
        end = div - 1 if div is not None else len(rec["params"]) - 1
        why = diagnose_divergence(rec["loss"], rec["params"], div, loss_fn)
        out.append(ScheduleRun(name, SCHEDULES[name].label, rec["params"], rec["loss"], end,
                               f"diverged at step {div}: {why.message}" if why else "", i))
    return out


def trailing_mean(x, window: int) -> np.ndarray:
    """m_i = mean of x over steps max(0, i − window + 1) … i: what a noisy loss hovers at."""
    x = np.asarray(x, np.float64)
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    lo = np.maximum(i - window + 1, 0)
    return (c[i + 1] - c[lo]) / (i + 1 - lo)


def smoothed(runs: list[ScheduleRun], window: int) -> list[ScheduleRun]:
    """The runs with their loss replaced by its trailing mean over ``window`` steps (up to their end)."""
    return [replace(r, loss=trailing_mean(np.asarray(r.loss)[: r.end + 1], window)) for r in runs]


def schedule_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], style: Style, log: bool = False,
                    limit: float | None = None, title: str | None = None) -> go.Figure:
    """α_t against t for each schedule (α_t is the rate of update t).  ``limit``:
    a dashed line at GD's stability limit 2/λ_max.  On a log axis, α_t = 0 is not drawn."""
    fig = go.Figure(_validate=False)
    for name, (t, alpha) in curves.items():
        t, a = np.asarray(t, np.int32), np.asarray(alpha, np.float32)
        if log:
            t, a = t[a > 0], a[a > 0]
        fig.add_trace(go.Scatter(x=t, y=a, mode="lines",
                                 name=SCHEDULES[name].label, line=dict(color=schedule_color(name),
                                                                       width=style.line_width),
                                 hovertemplate=f"{SCHEDULES[name].label}: t = %{{x}}, α = %{{y:.4g}}<extra></extra>"))
    if limit is not None and np.isfinite(limit):
        fig.add_hline(y=limit, line=dict(color=style.ink, dash="dash", width=1),
                      annotation_text=f"GD stability limit 2/λ_max = {limit:.3g}",
                      annotation_position="top right")
    fig.update_xaxes(title_text="t (updates made)")
    fig.update_yaxes(LOG_AXIS if log else dict(type="linear"), title_text="α_t")
    return base_layout(fig, style, title, height=360)


def decay_loss_figure(runs: list[ScheduleRun], min_value: float | None, minima, style: Style,
                      log: bool = True) -> go.Figure:
    """The race's loss figure (f − f* and the distance to the minimum against the step).  When
    a run diverged, each log axis stops a decade above the runs that did not: the blow-up leaves
    the top of the plot instead of squashing the others into its bottom row."""
    fig = loss_figure(runs, min_value, minima, style, log=log)
    calm = {r.color for r in runs if not r.note}
    if fig.layout.yaxis.type != "log" or not calm or len(calm) == len(runs):
        return fig
    for axis in {t.yaxis or "y" for t in fig.data}:
        traces = [t for t in fig.data if (t.yaxis or "y") == axis]
        ys = [np.asarray(t.y, np.float64) for t in traces]
        pos = np.concatenate([y[y > 0] for y in ys])
        top = np.concatenate([y[y > 0] for t, y in zip(traces, ys) if t.line.color in calm])
        if pos.size and top.size:
            name = "yaxis" if axis == "y" else f"yaxis{axis[1:]}"
            fig.layout[name].range = [float(np.log10(pos.min())) - 0.2, float(np.log10(top.max())) + 1.0]
    return fig


REALS = ("final α", "final f − f*", "mean f − f*, last 10 %")
COUNTS = ("steps to tolerance", "diverged at")


def decay_table(records: Mapping[str, Mapping[str, Any]], f_star: float, tol: float) -> pd.DataFrame:
    """One row per schedule: the rate it ended with, the final loss, the mean loss over the last
    10 % of the steps (where it settled, or keeps bouncing), steps to f − f* ≤ tol, divergence."""
    rows = []
    for name, rec in records.items():
        div = rec["diverged_at"]
        gap = np.asarray(rec["loss"], np.float64) - f_star
        last = div - 1 if div is not None else len(gap) - 1
        rows.append({
            "schedule": SCHEDULES[name].label,
            "final α": float(np.asarray(rec["lr"])[min(last, len(rec["lr"]) - 1)]) if len(rec["lr"]) else None,
            "final f − f*": float(gap[last]) if div is None else None,
            "mean f − f*, last 10 %": settled_loss(gap) if div is None else None,
            "steps to tolerance": steps_to_tolerance(gap[: last + 1], tol),
            "diverged at": div,
        })
    table = pd.DataFrame(rows, columns=["schedule", *REALS, *COUNTS])
    return table.astype({c: np.float64 for c in REALS}).assign(**{c: counts(table[c]) for c in COUNTS})
