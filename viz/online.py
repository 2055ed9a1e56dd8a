"""The online problem's figures: the iterates round after round with the average regret under
them, and the first rounds' steps up close (why Adam drifts: its step on the rare large gradient
is hardly larger than on the small ones)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.race import frame_steps
from viz.style import Style, base_layout, color_of, controls_margin, play_controls

# Runs of the page that are not registry entries (a variant of one) get their own colour.
VARIANT_COLORS = {"adam_large_beta2": "#CC6677"}


@dataclass(frozen=True)
class OnlineRun:
    """One run of the online page: ``x`` the iterates x_1 … x_{T+1} (x[t − 1] is where round t is
    played), ``regret`` the average regret R_T / T for T = 1 … T."""

    name: str
    label: str
    x: np.ndarray
    regret: np.ndarray
    index: int = 0

    @property
    def color(self) -> str:
        return VARIANT_COLORS.get(self.name) or color_of(self.name, self.index)


def _f32(a) -> np.ndarray:
    return np.nan_to_num(np.asarray(a, np.float32))


def _heads(runs: list[OnlineRun], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every run's point at round k (its last one if shorter): (t, x_t) on top, (t, R_t / t) below."""
    kx = [min(k, len(r.x)) for r in runs]
    kr = [min(k, len(r.regret)) for r in runs]
    return (np.asarray(kx, np.int32), _f32([r.x[i - 1] for r, i in zip(runs, kx)]),
            np.asarray(kr, np.int32), _f32([r.regret[max(i, 1) - 1] if len(r.regret) else 0.0
                                            for r, i in zip(runs, kr)]))


def online_figure(runs: list[OnlineRun], best: float, box: tuple[float, float], style: Style,
                  max_frames: int = 120, frame_ms: int = 50) -> go.Figure:
    """Top: the iterate x_t against the round t, in the feasible box, the best fixed point dashed.
    Bottom: the average regret R_T / T against T (it tends to 0 for a method that learns).  The
    whole curves are drawn once; Play moves a head along each (two small traces per frame)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.55, 0.45])
    for r in runs:
        t = np.arange(1, len(r.x) + 1, dtype=np.int32)
        fig.add_trace(go.Scatter(x=t, y=_f32(r.x), mode="lines", name=r.label, legendgroup=r.name,
                                 line=dict(color=r.color, width=style.line_width)), row=1, col=1)
        fig.add_trace(go.Scatter(x=t[: len(r.regret)], y=_f32(r.regret), mode="lines", name=r.label,
                                 legendgroup=r.name, showlegend=False,
                                 line=dict(color=r.color, width=style.line_width)), row=2, col=1)
    fig.add_hline(y=best, line=dict(color=style.ink, dash="dash", width=style.line_width * 0.6), row=1, col=1,
                  annotation_text=f"best fixed point x* = {best:g}", annotation_position="top right")
    fig.add_hline(y=0.0, line=dict(color=style.ink, dash="dot", width=style.line_width * 0.4), row=2, col=1)
    colors = [r.color for r in runs]
    t1, x1, t2, r2 = _heads(runs, 1)
    head = dict(color=colors, size=style.marker_size, line=dict(color="white", width=1.5 * style.scale))
    fig.add_trace(go.Scatter(x=t1, y=x1, mode="markers", showlegend=False, hoverinfo="skip", name="heads",
                             marker=head), row=1, col=1)
    fig.add_trace(go.Scatter(x=t2, y=r2, mode="markers", showlegend=False, hoverinfo="skip", name="regret heads",
                             marker=head), row=2, col=1)
    moving = [len(fig.data) - 2, len(fig.data) - 1]
    rounds = max((len(r.x) for r in runs), default=1)
    ks = frame_steps(rounds - 1, max_frames) + 1
    frames = []
    for k in ks:
        t1, x1, t2, r2 = _heads(runs, int(k))
        frames.append(go.Frame(dict(name=str(int(k)), traces=moving, data=[dict(type="scatter", x=t1, y=x1),
                                                                           dict(type="scatter", x=t2, y=r2)]),
                               _validate=False))
    fig.frames = frames
    names = [str(int(k)) for k in ks]
    fig.update_layout(**play_controls(names, names, style, "round ", frame_ms, lines_below=2))
    lo, hi = box
    pad = 0.05 * (hi - lo)
    fig.update_yaxes(title_text="iterate x<sub>t</sub>", range=[lo - pad, hi + pad], row=1, col=1)
    fig.update_yaxes(title_text="average regret R<sub>T</sub> / T", row=2, col=1)
    fig.update_xaxes(title_text="round t", row=2, col=1)
    base_layout(fig, style, height=640, main=True)
    fig.update_layout(margin=dict(b=controls_margin(style, 2)))  # the ticks and the axis title under the plot
    if style.presentation:  # a legend at the left would cover the axis titles: above, as on a laptop
        fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    return fig


def steps_figure(runs: list[OnlineRun], C: float, style: Style, rounds: int = 30) -> go.Figure:
    """The step x_{t+1} − x_t of each of the first ``rounds`` rounds (after projection), the rounds
    whose gradient is the large C shaded: the sum of three consecutive steps is the drift of a run."""
    fig = go.Figure(_validate=False)
    for t in range(1, rounds + 1, 3):  # rounds t with t mod 3 = 1: gradient C
        fig.add_vrect(x0=t - 0.45, x1=t + 0.45, fillcolor=style.ink, opacity=0.08, line_width=0)
    for r in runs:
        n = min(rounds, len(r.x) - 1)
        step = np.diff(np.asarray(r.x, np.float64)[: n + 1])
        fig.add_trace(go.Scatter(x=np.arange(1, n + 1, dtype=np.int32), y=_f32(step), mode="lines+markers",
                                 name=r.label, line=dict(color=r.color, width=style.line_width * 0.7),
                                 marker=dict(color=r.color, size=style.marker_size * 0.7)))
    fig.add_hline(y=0.0, line=dict(color=style.ink, width=1))
    fig.update_xaxes(title_text=f"round t (shaded: gradient +{C:g}; the others: −1)", dtick=3, tick0=1)
    fig.update_yaxes(title_text="step x<sub>t+1</sub> − x<sub>t</sub>")
    return base_layout(fig, style, height=360)
