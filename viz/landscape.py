"""The loss landscape page's figures: the plane's loss as a static picture with the paths animated
on it (the race figure, ``viz.race``), the same in 3-D, the loss along each path against the
plane's (the honest gap), and the tables behind the downloads.  Arrays in, figures out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.race import RunView, race_figure
from viz.style import LOG_AXIS, Style, base_layout, color_of
from viz.surface import Grid, colorbar_trace, surface_3d_figure


@dataclass(frozen=True)
class PathView:
    """One run on the plane: ``name`` its key (the colour: an optimizer's, else by ``index``),
    ``coords`` (n, 2) its projection, ``real`` and ``on_plane`` (n,) its real train loss and the
    plane's at the projected point, ``off`` (n,) its relative distance from the plane,
    ``epochs`` (n,) the epoch of each point (fractional inside an epoch)."""

    name: str
    label: str
    coords: np.ndarray
    real: np.ndarray
    on_plane: np.ndarray
    off: np.ndarray
    epochs: np.ndarray
    index: int = 0

    @property
    def color(self) -> str:
        return color_of(self.name, self.index)


def path_views(ls, recs: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str], epochs: int) -> list[PathView]:
    """The landscape's paths (in the order of ``recs``) with their epochs: point i of a run is
    after ``path_steps[i]`` of its ``path_steps[-1]`` updates."""
    out = []
    for i, (name, rec) in enumerate(recs.items()):
        steps = np.asarray(rec["path_steps"], np.float64)
        out.append(PathView(name, labels[name], ls.coords[i], ls.real[i], ls.on_plane[i], ls.off[i],
                            epochs * steps / max(steps[-1], 1), i))
    return out


def frame_points(epochs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each time (epoch) of ``times``, the last point of a path kept at ``epochs`` not after
    it: runs with different batch sizes move together, epoch by epoch."""
    return np.clip(np.searchsorted(epochs, times + 1e-9, side="right") - 1, 0, len(epochs) - 1)


def landscape_figure(uri: str, xs: np.ndarray, ys: np.ndarray, paths: list[PathView], centre_label: str,
                     epochs: int, style: Style, n_frames: int = 101, frame_ms: int = 60) -> go.Figure:
    """The plane's train loss (a static picture) and every path animated together, by epoch:
    each path's faint whole projection, its comet moving through the frames, the start (open
    circle) and the centre θ_c (a star, at 0, 0).  The race figure's frames and controls."""
    times = np.linspace(0, epochs, n_frames)
    runs = []
    for p in paths:
        k = frame_points(p.epochs, times)
        runs.append(RunView(p.name, p.label, p.coords[k].astype(np.float32), p.real[k], n_frames - 1, "", p.index))
    domain = ((float(xs[0]), float(xs[-1])), (float(ys[0]), float(ys[-1])))
    start = paths[0].coords[0] if paths else np.zeros(2)
    fig = race_figure(uri, domain, [], start, runs, style, max_frames=n_frames, frame_ms=frame_ms)
    bar = colorbar_trace(uri, style, name="train loss")
    if bar is not None:  # race_figure's colour bar is titled f: this one says what the colours are
        for t in fig.data:
            if t.name == "colour scale":
                t.marker.colorbar.title.text = bar["marker"]["colorbar"]["title"]["text"]
    fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers", name=f"centre θ_c: {centre_label}",
                             hovertemplate=f"centre: {centre_label}<extra></extra>",
                             marker=dict(symbol="star", size=style.marker_size * 1.3, color="white",
                                         line=dict(color="black", width=1.5))))
    slider = fig.layout.sliders[0]
    slider.currentvalue.prefix, slider.currentvalue.suffix = "epoch ", f" of {epochs}"
    for step, t in zip(slider.steps, times, strict=True):
        step.label = f"{t:.3g}"
    fig.update_xaxes(title_text="α (along d₁)")
    fig.update_yaxes(title_text="β (along d₂)")
    return fig


def landscape_3d(xs, ys, z: np.ndarray, log: bool, paths: list[PathView], style: Style) -> go.Figure:
    """The plane's train loss in 3-D with each path on it, at the plane's loss of its projected
    points (the real loss is off the surface by the honest gap: see ``gap_figure``)."""
    grid = Grid(np.asarray(xs, np.float32), np.asarray(ys, np.float32), z,
                ((float(xs[0]), float(xs[-1])), (float(ys[0]), float(ys[-1]))))
    fig = surface_3d_figure(grid, log, {p.name: p.coords for p in paths}, {p.name: p.on_plane for p in paths},
                            {p.name: p.label for p in paths}, style)
    fig.update_layout(scene=dict(xaxis_title="α", yaxis_title="β",
                                 zaxis_title="log₁₀(loss − min)" if log else "train loss"))
    return fig


def gap_figure(paths: list[PathView], style: Style, log: bool = True) -> go.Figure:
    """Left: each path's real train loss (solid) and the plane's at its projected point (dotted),
    against the epoch; right: its distance from the plane over its distance from θ_c."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.09,
                        subplot_titles=("train loss: real (solid), on the plane (dotted)",
                                        "distance off the plane / distance to θ_c"))
    positive = True
    for p in paths:
        for y, dash, legend in ((p.real, "solid", True), (p.on_plane, "dot", False)):
            positive &= bool(np.all(y > 0))
            fig.add_trace(go.Scatter(x=p.epochs.astype(np.float32), y=np.asarray(y, np.float32), mode="lines",
                                     name=p.label, legendgroup=p.label, showlegend=legend,
                                     line=dict(color=p.color, dash=dash, width=style.line_width)), row=1, col=1)
        fig.add_trace(go.Scatter(x=p.epochs.astype(np.float32), y=np.asarray(p.off, np.float32), mode="lines",
                                 name=p.label, legendgroup=p.label, showlegend=False,
                                 line=dict(color=p.color, width=style.line_width)), row=1, col=2)
    if log and positive:
        fig.update_yaxes(LOG_AXIS, row=1, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    base_layout(fig, style, height=380)
    fig.update_layout(margin=dict(t=80), legend=dict(y=1.14))
    return fig


def summary_table(paths: list[PathView], recs: Mapping[str, Mapping[str, Any]],
                  summaries: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """One row per run: final losses and accuracy, sharpness, its travel on the plane, the share
    the plane keeps, and the honest gap (mean, largest)."""
    def last(p, k):
        return float(recs[p.name][k][-1])

    return pd.DataFrame({
        "run": [p.label for p in paths],
        "train loss": [last(p, "train_loss") for p in paths],
        "test loss": [last(p, "test_loss") for p in paths],
        "test acc": [last(p, "test_acc") for p in paths],
        "sharpness": [recs[p.name]["sharpness"] for p in paths],
        "travel on the plane": [summaries[p.name]["travel"] for p in paths],
        "kept by the plane": [summaries[p.name]["kept"] for p in paths],
        "gap, mean": [summaries[p.name]["gap_mean"] for p in paths],
        "gap, largest": [summaries[p.name]["gap_max"] for p in paths],
    })


def paths_table(paths: list[PathView]) -> pd.DataFrame:
    """Long format for the CSV: one row per run and kept point."""
    parts = [pd.DataFrame({"run": p.label, "epoch": p.epochs, "alpha": p.coords[:, 0], "beta": p.coords[:, 1],
                           "train_loss": p.real, "plane_loss": p.on_plane, "off_plane": p.off}) for p in paths]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def grid_table(xs, ys, train: np.ndarray, test: np.ndarray) -> pd.DataFrame:
    """The grid for the CSV: one row per point (α, β) with its train and test loss."""
    a, b = np.meshgrid(xs, ys)
    return pd.DataFrame({"alpha": a.ravel(), "beta": b.ravel(), "train_loss": np.ravel(train),
                         "test_loss": np.ravel(test)})
