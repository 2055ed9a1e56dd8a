"""Training a small network, the pictures: each loss against the margin ŷy, learning curves
per epoch, animated decision boundaries (one small multiple per run), the results table.  The
runs themselves come from surfaces/training.py.  No Streamlit in here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import jax.numpy as jnp
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from surfaces import network as N
from surfaces.training import Data
from viz.style import LOG_AXIS, Style, base_layout, color_of, controls_margin, play_controls

FIGURE_BUDGET = 8.5e5  # JSON bytes of an animated figure (the page's limit is 1 MB)
MARGIN = np.linspace(-3.0, 3.0, 241, dtype=np.float32)
# Class colours (points) and their light versions (regions): distinct from the optimizers' colours.
CLASS_COLORS = ("#1f5fa8", "#c0392b", "#2e8b3a", "#d98c00", "#7b3fa0", "#00838f", "#8d5a3b", "#4d4d4d")


# --- runs as the figures need them -----------------------------------------------------------------


@dataclass(frozen=True)
class NetRun:
    """One run as the figures show it: ``name`` is the optimizer's registry key (its colour),
    ``label`` what the legend says, ``rec`` an ``as_record`` dict; ``color`` overrides the
    optimizer's colour (two runs of one optimizer, e.g. λ = 0 against λ > 0)."""

    name: str
    label: str
    rec: Mapping[str, Any]
    index: int = 0
    lam: float = 0.0
    color_override: str | None = None

    @property
    def color(self) -> str:
        return self.color_override or color_of(self.name, self.index)

    @property
    def epochs(self) -> int:
        return len(self.rec["lr"])

    @property
    def note(self) -> str:
        e = self.rec["diverged_epoch"]
        return f"diverged in epoch {e}: lower the learning rate" if e is not None else ""


def _clean(a) -> np.ndarray:
    """float32, non-finite values replaced (JSON has no NaN; a frozen diverged run stays finite)."""
    return np.nan_to_num(np.asarray(a, np.float32), nan=0.0, posinf=3e38, neginf=-3e38)


# --- the losses against the margin --------------------------------------------------------------------


def margin_curves(names=None, margin=MARGIN) -> dict[str, np.ndarray]:
    """Each loss of ``LOSSES`` as a function of the margin ŷy, evaluated by the registry's own
    function on a two-class example of label 1 whose output has margin ŷy: a logit ŷ = ŷy
    (±1 losses, ``y`` = +1; cross entropy, ``y`` = 1), or logits (0, ŷy) for the K-class
    cross entropy with K = 2 (its margin is z_y − z_other)."""
    out = {}
    for name in names or N.LOSSES:
        spec = N.LOSSES[name]
        n_out = spec.n_outputs(2)
        z = np.zeros((len(margin), n_out), np.float32)
        z[:, -1] = margin
        t = spec.target(jnp.ones(len(margin), jnp.int32), n_out)
        out[name] = np.asarray(spec.fn(jnp.asarray(z), t), np.float32)
    return out


_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def margin_figure(chosen: str, style: Style, height: int = 300) -> go.Figure:
    """Every loss of the course against the margin ŷy (right of 0: classified correctly), the
    chosen one thick, with the 0–1 loss (a mistake costs 1) for reference.  Logistic and cross
    entropy are one curve: the same loss under the label map y ∈ {0, 1} ↔ {−1, 1}."""
    curves = margin_curves()
    fig = go.Figure(_validate=False)
    fig.add_trace(dict(type="scatter", x=MARGIN, y=(MARGIN <= 0).astype(np.float32), mode="lines",
                       name="0–1 (mistake)", line=dict(color="#9a9a9a", width=style.line_width * 0.75, shape="hv"),
                       hoverinfo="skip"))
    for i, (name, v) in enumerate(curves.items()):
        on = name == chosen
        fig.add_trace(dict(type="scatter", x=MARGIN, y=np.minimum(v, 6.0), mode="lines", name=N.LOSSES[name].label,
                           line=dict(color=color_of(f"loss:{name}", i), dash=_DASHES[i % len(_DASHES)],
                                     width=style.line_width * (2.0 if on else 1.0)),
                           opacity=1.0 if on else 0.75,
                           hovertemplate=N.LOSSES[name].label + "<br>ŷy = %{x:.2f}<br>loss = %{y:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="margin ŷ·y", zeroline=True)
    fig.update_yaxes(title_text="loss", range=[-0.1, 4.5])
    base_layout(fig, style, height=height)
    fig.update_layout(legend=dict(orientation="v", y=1, yanchor="top", x=1.02, xanchor="left"), margin=dict(r=10))
    return fig


# --- learning curves ---------------------------------------------------------------------------------


def curves_figure(runs: list[NetRun], style: Style, log: bool = True, height: int = 380) -> go.Figure:
    """Left the data loss per epoch, right the accuracy: train solid, test dashed, one colour
    per run (epoch 0 is before training).  A log axis only when every loss is positive."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("loss (without λ‖W‖²)", "accuracy"))
    all_pos = True
    for r in runs:
        ep = np.arange(r.epochs + 1, dtype=np.int32)
        for split, dash in (("train", "solid"), ("test", "dash")):
            loss, acc = _clean(r.rec[f"{split}_loss"]), _clean(r.rec[f"{split}_acc"])
            all_pos &= bool(np.all(loss > 0))
            common = dict(mode="lines", legendgroup=r.label,
                          line=dict(color=r.color, dash=dash, width=style.line_width))
            fig.add_trace(go.Scatter(x=ep, y=loss, name=r.label, showlegend=split == "train",
                                     hovertemplate=f"{r.label}, {split}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
                                     **common), row=1, col=1)
            fig.add_trace(go.Scatter(x=ep, y=acc, name=r.label, showlegend=False,
                                     hovertemplate=f"{r.label}, {split}<br>epoch %{{x}}: %{{y:.1%}}<extra></extra>",
                                     **common), row=1, col=2)
    for split, dash in (("train", "solid"), ("test", "dash")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=split,
                                 line=dict(color=style.ink, dash=dash, width=style.line_width)), row=1, col=1)
    if log and all_pos:
        fig.update_yaxes(LOG_AXIS, row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    base_layout(fig, style, height=height)
    fig.update_layout(margin=dict(t=80), legend=dict(y=1.12))
    return fig


# --- decision boundaries over epochs -----------------------------------------------------------------


def _light(hex_color: str, amount: float = 0.72) -> str:
    """The colour mixed with white (``amount`` of white): the region of a class."""
    rgb = [int(hex_color[i: i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


def class_colorscale(k: int, light: bool = True) -> list:
    """A stepwise colour scale over 0 … K − 1 (cmin −0.5, cmax K − 0.5): class i's colour (its
    light version for the regions)."""
    out = []
    for i in range(k):
        c = CLASS_COLORS[i % len(CLASS_COLORS)]
        c = _light(c) if light else c
        out += [[i / k, c], [(i + 1) / k, c]]
    return out


def frame_indices(n_snapshots: int, frame_bytes: float, budget_bytes: float) -> np.ndarray:
    """The snapshots the animation shows: all of them while frames × ``frame_bytes`` (what one
    frame weighs) stays under ``budget_bytes``, else evenly spaced ones (first and last kept,
    at least 2)."""
    n = int(np.clip(budget_bytes // max(frame_bytes, 1.0), 2, n_snapshots))
    return np.unique(np.round(np.linspace(0, n_snapshots - 1, n)).astype(int))


def class_rows(classes, g: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The predicted regions as horizontal runs: per class, ``x`` (float32: start − ½, end + ½,
    NaN for every run of equal class along a grid row) and ``y`` (the row, one byte), in grid
    units.  Drawn as lines one cell thick, a panel is 2K SVG paths instead of G² markers."""
    c = np.asarray(classes).reshape(g, g)
    first = np.ones((g, g), bool)
    first[:, 1:] = c[:, 1:] != c[:, :-1]
    last = np.ones((g, g), bool)
    last[:, :-1] = c[:, :-1] != c[:, 1:]
    rs, cs = np.nonzero(first)
    _, ce = np.nonzero(last)  # row-major: the i-th run ends at the i-th last cell
    cls = c[rs, cs]
    out = []
    for j in range(k):
        sel = cls == j
        x = np.full(3 * int(sel.sum()), np.nan, np.float32)
        x[0::3], x[1::3] = cs[sel] - 0.5, ce[sel] + 0.5
        out.append((x, np.repeat(rs[sel], 3).astype(np.uint8 if g <= 256 else np.int32)))
    return out


def panel_columns(n: int) -> int:
    """Columns of the small multiples: full rows where possible, at most 4 (2 × 2 is 4 in a row)."""
    return n if n <= 4 else 4 if n in (7, 8) else 3


def boundary_figure(runs: list[NetRun], data: Data, style: Style, cols: int | None = None, frame_ms: int = 350,
                    page_width: int = 1100) -> go.Figure:
    """Small multiples, one per run: the class the network predicts at each grid point (light
    colours: class 0 the panel's background, the others drawn as runs along the grid's rows,
    ``class_rows``), the training points (filled)
    and the test points (open) on top.  Frames step through the snapshot epochs and carry only
    the regions of every run: one slider drives all panels.  The figure opens on the last epoch.

    Drawn in grid units (cell i at i, ticks hidden: the plane's units carry no lesson); the
    points are mapped onto the grid.  Each row of a region is a line one cell thick: the panel
    size in pixels is fixed by the figure height (square panels, ``scaleanchor``)."""
    n = max(len(runs), 1)
    cols = min(cols or panel_columns(n), n)
    rows = math.ceil(n / cols)
    side = min(340.0, page_width / cols - 30)  # a panel's side in pixels
    spacing = 0.12 / rows
    top, bottom = 80, controls_margin(style, lines_below=0)  # the legend and titles; the Play controls
    height = round(rows * side / (1 - spacing * (rows - 1)) + top + bottom)
    titles = [f"{r.label}: final test {float(r.rec['test_acc'][-1]):.0%}" + (" (diverged)" if r.note else "")
              for r in runs]
    layout = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.04,
                           vertical_spacing=spacing).layout.to_plotly_json()
    fig = go.Figure(layout=layout, _validate=False)
    g, k = len(data.gx), data.k
    x0, dx = float(data.gx[0]), float(data.gx[1] - data.gx[0])
    y0, dy = float(data.gy[0]), float(data.gy[1] - data.gy[0])
    cell_px = side / g + 0.6  # a hair more than a cell: no white seams between rows
    snaps = runs[0].rec["snap_epochs"] if runs else np.zeros(1, np.int32)
    # run, snapshot, class ≥ 1: class 0 is the panel's background (a static rectangle)
    regions = [[class_rows(c, g, k)[1:] for c in r.rec["classes"]] for r in runs]
    # JSON bytes of a frame (base64 is 4/3 of the raw bytes, ~70 more per trace) and of the rest
    frame_bytes = max((sum(4 / 3 * (x.nbytes + y.nbytes) + 70 for reg in regions for x, y in reg[j])
                       for j in range(len(snaps))), default=0)
    static_bytes = frame_bytes + n * (12 * (len(data.y_train) + len(data.y_test)) + 3000)  # regions, points, layout
    keep = frame_indices(len(snaps), frame_bytes, FIGURE_BUDGET - static_bytes)
    points = dict(colorscale=class_colorscale(k, light=False), cmin=-0.5, cmax=k - 0.5, showscale=False)
    pt_size = (6 if len(data.y_train) <= 400 else 4) * style.scale
    moving = []
    for i, r in enumerate(runs):
        ax = "" if i == 0 else str(i + 1)
        xa, ya = f"x{ax}", f"y{ax}"
        fig.add_shape(type="rect", x0=-0.5, x1=g - 0.5, y0=-0.5, y1=g - 0.5, xref=xa, yref=ya, layer="below",
                      fillcolor=_light(CLASS_COLORS[0]), line_width=0)
        for j, (x, y) in enumerate(regions[i][keep[-1]], start=1):
            moving.append(len(fig.data))
            fig.add_trace(dict(type="scatter", x=x, y=y, xaxis=xa, yaxis=ya, mode="lines", hoverinfo="skip",
                               showlegend=False, name=f"class {j} {r.label}", connectgaps=False,
                               line=dict(color=_light(CLASS_COLORS[j % len(CLASS_COLORS)]), width=cell_px)))
        for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
            fig.add_trace(dict(
                type="scatter", x=_clean((X[:, 0] - x0) / dx), y=_clean((X[:, 1] - y0) / dy), xaxis=xa, yaxis=ya,
                mode="markers", name=f"{split} points", showlegend=False, hoverinfo="skip",
                marker=dict(size=pt_size, color=np.asarray(y, np.int8), **points,
                            symbol="circle" if split == "train" else "circle-open",
                            line=dict(color="white", width=0.8) if split == "train" else dict(width=1.5))))
        fig.layout[f"xaxis{ax}"].update(range=[-0.5, g - 0.5], showticklabels=False, showgrid=False,
                                        zeroline=False, constrain="domain")
        fig.layout[f"yaxis{ax}"].update(range=[-0.5, g - 0.5], showticklabels=False, showgrid=False,
                                        zeroline=False, scaleanchor=xa, scaleratio=1, constrain="domain")
    for split, symbol in (("train", "circle"), ("test", "circle-open")):  # legend entries in neutral grey
        fig.add_trace(dict(type="scatter", x=[None], y=[None], xaxis="x", yaxis="y", mode="markers",
                           name=f"{split} points", legendgroup=split,
                           marker=dict(size=pt_size * 1.3, color="#6b6b6b", symbol=symbol)))
    fig.frames = [go.Frame(dict(name=str(int(snaps[j])), traces=moving,
                                data=[dict(type="scatter", x=x, y=y) for reg in regions for x, y in reg[j]]),
                           _validate=False) for j in keep]
    if runs:
        names = [str(int(snaps[j])) for j in keep]
        fig.update_layout(**play_controls(names, names, style, "epoch ", frame_ms, fast=False, active=len(names) - 1,
                                          lines_below=0))
    base_layout(fig, style, height=height)
    # a title no wider than its panel (a character is ~0.55 of the font size)
    fig.update_annotations(font_size=min(style.font_size, int(side / (0.55 * max(map(len, titles), default=1)))))
    # the height, not scaled for presentation: it fixes the panels' size, hence the rows' thickness
    fig.update_layout(height=height, margin=dict(t=top, b=bottom), legend=dict(y=1 + 35 / (height - top - bottom)))
    return fig


# --- one step's update of a layer ---------------------------------------------------------------------


def update_spectrum_figure(runs: list[NetRun], layer: int, style: Style, height: int = 340) -> go.Figure:
    """The singular values of weight matrix ``layer``'s last update ΔW (``rec["update_sv"]``), each
    divided by the largest, one curve per run: flat at 1 when every direction of the step has the
    same size (an orthogonalized step), falling when a few directions dominate."""
    fig = go.Figure(_validate=False)
    n = max((len(r.rec["update_sv"][layer]) for r in runs), default=0)
    for r in runs:
        sv = np.asarray(r.rec["update_sv"][layer], np.float64)
        top = float(sv[0]) if sv.size else 0.0
        y = sv / top if top > 0 else np.zeros_like(sv)
        fig.add_trace(dict(type="scatter", x=np.arange(1, len(sv) + 1, dtype=np.int32), y=y.astype(np.float32),
                           mode="lines+markers", name=r.label,
                           line=dict(color=r.color, width=style.line_width), marker=dict(size=style.marker_size),
                           hovertemplate=f"{r.label}<br>σ<sub>%{{x}}</sub> / σ<sub>1</sub> = %{{y:.3f}}"
                                         "<extra></extra>"))
    fig.update_xaxes(title_text="k (largest first)", dtick=1 if n <= 16 else None)
    fig.update_yaxes(title_text="σ<sub>k</sub> / σ<sub>1</sub> of ΔW", range=[0, 1.05])
    base_layout(fig, style, height=height)
    return fig


def final_sharpness_figure(runs: list[NetRun], style: Style, height: int = 300) -> go.Figure:
    """One bar per run: the sharpness λ_max(∇²J) at its final weights (``rec["lambda_max"]``), its
    value written on it ("not finite", and no bar, where the weights of a diverged run give none);
    the runs without one are left out."""
    runs = [r for r in runs if "lambda_max" in r.rec]
    lam = np.asarray([r.rec["lambda_max"] for r in runs], np.float64)
    ok = np.isfinite(lam)
    fig = go.Figure(_validate=False)
    fig.add_trace(dict(type="bar", x=[r.label for r in runs], y=np.where(ok, lam, 0.0).astype(np.float32),
                       marker=dict(color=[r.color for r in runs]),
                       text=[f"{v:.3g}" if f else "not finite" for v, f in zip(lam, ok)],
                       textposition="outside", textfont=dict(size=style.font_size), cliponaxis=False,
                       showlegend=False, hovertemplate="%{x}<br>λ<sub>max</sub> = %{y:.4g}<extra></extra>"))
    top = float(np.max(lam[ok])) if ok.any() else 1.0
    fig.update_yaxes(title_text="λ<sub>max</sub>(∇²J) at the end", range=[0, 1.2 * max(top, 1e-12)])
    base_layout(fig, style, height=height)
    return fig


# --- tables -----------------------------------------------------------------------------------------------


def results_table(runs: list[NetRun]) -> pd.DataFrame:
    """One row per run: final train and test loss and accuracy, the generalization gap (test −
    train loss), the sharpness λ_max(∇²J) at the final weights where it was measured (None where
    not), wall time of the training (compilation apart) and epochs per second."""
    def last(r, k):
        return float(r.rec[k][-1])

    return pd.DataFrame({
        "run": [r.label for r in runs],
        "λ": [r.lam for r in runs],
        "train loss": [last(r, "train_loss") for r in runs],
        "test loss": [last(r, "test_loss") for r in runs],
        "train acc": [last(r, "train_acc") for r in runs],
        "test acc": [last(r, "test_acc") for r in runs],
        "gap (test − train loss)": [last(r, "test_loss") - last(r, "train_loss") for r in runs],
        **({"λ_max at the end": [r.rec.get("lambda_max") for r in runs]}
           if any("lambda_max" in r.rec for r in runs) else {}),
        "training (s)": [r.rec["seconds"] for r in runs],
        "epochs/s": [r.epochs / max(r.rec["seconds"], 1e-9) for r in runs],
        "compile (s)": [r.rec["compile_seconds"] for r in runs],
        "outcome": [r.note or "trained" for r in runs],
    })


def history_table(runs: list[NetRun]) -> pd.DataFrame:
    """Long format for the CSV: one row per run and epoch."""
    parts = [pd.DataFrame({"run": r.label, "epoch": np.arange(r.epochs + 1),
                           **{k: r.rec[k] for k in ("train_loss", "test_loss", "train_acc", "test_acc")}})
             for r in runs]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
