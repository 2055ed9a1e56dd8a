"""The race: trajectories animated on the surface, and the loss curves beside them.

The surface is a static image sent once; each optimizer has three traces: its whole path
(faint, static), its trail (the last steps, moving) and its head (moving).  Frames carry only
the trails and heads, so the figure stays small: 6 optimizers × 500 steps is ~0.2 MB."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.style import LOG_AXIS, Style, base_layout, color_of, controls_margin, play_controls
from viz.surface import add_surface_image, colorbar_trace, minima_trace


@dataclass(frozen=True)
class RunView:
    """One optimizer's run as the figures need it."""

    name: str  # registry key: fixes the colour
    label: str
    path: np.ndarray  # (steps + 1, 2)
    loss: np.ndarray  # (steps + 1,)
    end: int  # the last step to draw (the last finite one of a diverged run)
    note: str = ""  # e.g. "diverged at step 37: lr too large for this curvature"
    index: int = 0  # position among the runs (colour of names outside the registry)

    @property
    def color(self) -> str:
        return color_of(self.name, self.index)


def frame_steps(steps: int, max_frames: int = 120) -> np.ndarray:
    """The steps shown by the frames: all of them up to ``max_frames``, else evenly spaced
    (first and last included).  The paths themselves are never subsampled."""
    n = min(steps + 1, max_frames)
    return np.unique(np.round(np.linspace(0, steps, n)).astype(int))


def _clean(a) -> np.ndarray:
    """float32 with non-finite values removed by holding the last finite point (JSON has no NaN)."""
    a = np.array(a, np.float32)
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)


def _comet(runs: list[RunView], k: int, trail: int) -> tuple[np.ndarray, np.ndarray]:
    """Every run's last ``trail + 1`` points up to step ``k`` (held at its last finite point
    once it stopped), concatenated run after run: the x and y of the moving trace at step k.
    Each run always has trail + 1 points (the first repeated early on), so the colours and
    sizes set once on the trace stay aligned in every frame."""
    pts = []
    for r in runs:
        kk = min(k, r.end)
        idx = np.clip(np.arange(kk - trail, kk + 1), 0, None)
        pts.append(_clean(r.path[idx]))
    xy = np.concatenate(pts) if pts else np.zeros((0, 2), np.float32)
    return xy[:, 0], xy[:, 1]


def race_figure(surface_uri: str, domain, minima, start, runs: list[RunView], style: Style,
                max_frames: int = 120, trail: int = 20, frame_ms: int = 50, title: str | None = None,
                lines_below: float = 1.0) -> go.Figure:
    """The animated race: surface image, minima, start point; per run a faint full path
    (static, in the legend) and a comet of its last steps (one dot a step: the spacing is the
    step size) ending in a large head.  One moving trace carries every comet, so each frame is
    two small arrays.  Play / Fast / Pause / Restart buttons and a step slider, under
    ``lines_below`` lines of text (tick labels; 2 with an axis title)."""
    steps = max((len(r.path) - 1 for r in runs), default=0)
    ks = frame_steps(steps, max_frames)
    fig = go.Figure(_validate=False)  # built from known-good parts: validation doubles the time
    add_surface_image(fig, surface_uri, domain)
    bar = colorbar_trace(surface_uri, style)
    if bar is not None:
        fig.add_trace(bar)
    if len(minima):
        fig.add_trace(minima_trace(minima, style))
    fig.add_trace(go.Scatter(x=[float(start[0])], y=[float(start[1])], mode="markers", name="start",
                             marker=dict(symbol="circle-open", size=style.marker_size * 1.2,
                                         color="white", line=dict(width=2))))
    for r in runs:
        full = _clean(r.path[: r.end + 1])
        fig.add_trace(go.Scatter(x=full[:, 0], y=full[:, 1], mode="lines", opacity=0.45, hoverinfo="skip",
                                 name=r.label + (f" — {r.note}" if r.note else ""),
                                 line=dict(color=r.color, width=style.line_width)))
        if r.note:
            fig.add_trace(go.Scatter(x=full[-1:, 0], y=full[-1:, 1], mode="markers", showlegend=False,
                                     hovertemplate=f"{r.label}: {r.note}<extra></extra>",
                                     marker=dict(symbol="x", size=style.marker_size * 1.4, color=r.color,
                                                 line=dict(color="white", width=1))))
    n = trail + 1
    sizes = np.tile(np.linspace(0.3, 0.6, n), len(runs)) * style.marker_size
    sizes[n - 1:: n] = style.marker_size * 1.25
    outline = np.zeros(n * len(runs), np.float32)
    outline[n - 1:: n] = 1.5 * style.scale
    colors = [r.color for r in runs for _ in range(n)]
    x, y = _comet(runs, 0, trail)
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", showlegend=False, hoverinfo="skip", name="heads",
                             marker=dict(size=sizes.astype(np.float32), color=colors, opacity=1.0,
                                         line=dict(color="white", width=outline))))
    moving = len(fig.data) - 1
    frames = []
    for k in ks:
        x, y = _comet(runs, int(k), trail)
        frames.append(go.Frame(dict(name=str(int(k)), traces=[moving], data=[dict(type="scatter", x=x, y=y)]),
                               _validate=False))
    fig.frames = frames
    names = [str(int(k)) for k in ks]
    fig.update_layout(**play_controls(names, names, style, "step ", frame_ms, lines_below=lines_below))
    base_layout(fig, style, title, height=600, main=True)
    fig.update_layout(margin=dict(b=controls_margin(style, lines_below)))
    return fig


def loss_figure(runs: list[RunView], min_value: float | None, minima, style: Style, log: bool = True) -> go.Figure:
    """Loss against step (the gap f − f* when the minimum is known), and the distance to the
    nearest minimum.  A log axis is used only when every plotted value is positive."""
    from optim.metrics import distance_to_minima

    has_min = min_value is not None and len(minima) > 0
    fig = make_subplots(rows=2 if has_min else 1, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    all_pos = True
    for r in runs:
        y = np.asarray(r.loss[: r.end + 1], np.float64)
        if has_min:  # the gap reaches 0 (or −1e-8 by rounding) at the minimum: floor it for a log axis
            y = np.maximum(y - min_value, 1e-12)
        all_pos &= bool(np.all(y[np.isfinite(y)] > 0))
        steps = np.arange(len(y), dtype=np.int32)
        fig.add_trace(go.Scatter(x=steps, y=_clean(y), mode="lines", name=r.label,
                                 line=dict(color=r.color, width=style.line_width)), row=1, col=1)
        if has_min:
            d = distance_to_minima(r.path[: r.end + 1], minima)
            fig.add_trace(go.Scatter(x=steps, y=_clean(d), mode="lines", showlegend=False,
                                     line=dict(color=r.color, width=style.line_width)), row=2, col=1)
    if log and all_pos:
        fig.update_yaxes(LOG_AXIS)
    fig.update_xaxes(title_text="step", row=2 if has_min else 1, col=1)
    # Axis titles, not subplot titles: those sit where the legend is.
    fig.update_yaxes(title_text="f − f*" if has_min else "f", row=1, col=1)
    if has_min:
        fig.update_yaxes(title_text="distance to a minimum", row=2, col=1)
    return base_layout(fig, style, height=520 if has_min else 360)


def step_figure(surface_uri: str, domain, minima, path: np.ndarray, k: int, plain_step: np.ndarray,
                label: str, color: str, style: Style) -> go.Figure:
    """Update k → k + 1 up close: the path so far, the update the rule made (solid arrow) and
    the plain gradient step −α dW (dashed arrow) for comparison."""
    p = _clean(path)
    a, b = p[k], p[min(k + 1, len(p) - 1)]
    c = a + _clean(plain_step)
    (x0, x1), (y0, y1) = domain
    half = max(2.0 * float(np.max(np.abs(np.concatenate([b - a, c - a])))), 0.03 * max(x1 - x0, y1 - y0))
    fig = go.Figure(_validate=False)
    add_surface_image(fig, surface_uri, domain)
    if len(minima):
        fig.add_trace(minima_trace(minima, style))
    fig.add_trace(go.Scatter(x=p[: k + 1, 0], y=p[: k + 1, 1], mode="lines+markers", name=f"{label}, steps 0–{k}",
                             line=dict(color=color, width=style.line_width),
                             marker=dict(size=style.marker_size * 0.5, color=color)))
    for (end, name, dash) in ((b, "update made", "solid"), (c, "plain GD step −α dW", "dash")):
        fig.add_trace(go.Scatter(x=[a[0], end[0]], y=[a[1], end[1]], mode="lines", name=name,
                                 line=dict(color=color if dash == "solid" else style.ink, width=style.line_width * 1.4,
                                           dash=dash)))
        fig.add_annotation(x=float(end[0]), y=float(end[1]), ax=float(a[0]), ay=float(a[1]), xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.2,
                           arrowwidth=style.line_width, arrowcolor=color if dash == "solid" else style.ink, text="")
    fig.update_xaxes(range=[float(a[0] - half), float(a[0] + half)])
    fig.update_yaxes(range=[float(a[1] - half), float(a[1] + half)], scaleanchor="x", scaleratio=1)
    return base_layout(fig, style, f"step {k} → {k + 1}", height=420)
