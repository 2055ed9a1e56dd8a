"""Figures of the theory of the quadratic (optim.theory): the stability map of the plane (αλ, β)
with the current setting as one dot per Hessian eigenvalue, the loss with its predicted envelope,
and the Hessian's eigenvectors as arrows on the race figure.  Arrays in, go.Figure out."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optim import theory as T
from viz.style import LOG_AXIS, VIRIDIS, Style, base_layout

S_RANGE = (1e-3, 1e4)  # αλ
BETA_DECADES = 3.0  # β from 0 to 0.999, drawn as −log10(1 − β)
GRID = (120, 64)
BETA_TICKS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999)
DIVERGING_COLOR = "#C8C8C8"
DIVERGING_Z = 1.02  # the colour scale is viridis on [0, 1) and grey above: no NaN in the figure
MAPS = {"momentum": "Momentum (and GD at β = 0)", "nesterov": "Nesterov"}


def beta_y(beta) -> np.ndarray:
    """The map's vertical coordinate of β: −log10(1 − β) (0 → 0, 0.9 → 1, 0.99 → 2)."""
    return -np.log10(1.0 - np.minimum(np.asarray(beta, np.float64), 1 - 10 ** -BETA_DECADES))


@lru_cache(maxsize=4)
def map_grid(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(s, y, ρ, region) on the map's grid: s = αλ log-spaced, y = −log10(1 − β); ρ is set to
    ``DIVERGING_Z`` where the direction diverges (ρ ≥ 1: grey on the colour scale).  Computed once
    per rule."""
    s = np.geomspace(*S_RANGE, GRID[0])
    y = np.linspace(0.0, BETA_DECADES, GRID[1])
    ss, yy = np.meshgrid(s, y)
    beta = 1 - 10.0 ** -yy
    rho = T.rate_at(name, ss, beta)
    region = T.region_at(name, ss, beta)
    return s, y, np.where(region == T.DIVERGING, DIVERGING_Z, rho).astype(np.float32), region.astype(np.int8)


class Dots(NamedTuple):
    """One optimizer's current setting on a map: αλ for each eigenvalue λ > 0 (course α), its β."""

    name: str  # the optimizer (its colour)
    label: str
    s: np.ndarray
    beta: float
    lams: np.ndarray
    color: str
    where: str = ""  # "at the start", "at the minimum": which Hessian
    symbol: str = "circle"


def _region_centres(name: str) -> list[tuple[float, float, str]]:
    """A point inside each region of the map, to write its name there."""
    s, y, _, region = map_grid(name)
    out = []
    for r, label in enumerate(T.REGIONS):
        rows, cols = np.nonzero(region == r)
        if rows.size:
            i = np.argsort(np.abs(rows - np.median(rows)) + np.abs(cols - np.median(cols)))[0]
            out.append((float(s[cols[i]]), float(y[rows[i]]), label))
    return out


@lru_cache(maxsize=16)
def _map_background(maps: tuple[str, ...], style: Style, local: bool) -> dict:
    """Everything of the map but the dots, as a figure dict: built (and validated) once per rules,
    style and locality; a rerun only adds the dots (building it costs ~0.1 s, a copy ~1 ms)."""
    fig = make_subplots(rows=1, cols=len(maps), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[MAPS[m] for m in maps])
    top = 1 / DIVERGING_Z
    scale = [[top * i / (len(VIRIDIS) - 1), c] for i, c in enumerate(VIRIDIS)] + [[top + 1e-6, DIVERGING_COLOR],
                                                                                   [1.0, DIVERGING_COLOR]]
    for col, name in enumerate(maps, start=1):
        s, y, rho, region = map_grid(name)
        fig.add_trace(go.Heatmap(x=s, y=y, z=rho, zmin=0, zmax=DIVERGING_Z, colorscale=scale, showscale=col == 1,
                                 colorbar=dict(title="rate ρ", len=0.9, tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0]),
                                 name="rate", hovertemplate="αλ = %{x:.3g}<br>ρ = %{z:.3f} (1.02: diverges)"
                                                            "<extra></extra>"),
                      row=1, col=col)
        fig.add_trace(go.Contour(x=s, y=y, z=region, showscale=False, hoverinfo="skip",
                                 contours=dict(coloring="none", start=0.5, end=1.5, size=1.0),
                                 line=dict(color=style.ink, width=style.line_width * 0.75), name="regions",
                                 showlegend=False),
                      row=1, col=col)
        for sx, sy, label in _region_centres(name):
            fig.add_annotation(x=math.log10(sx), y=sy, text=label, showarrow=False, row=1, col=col,
                               font=dict(color="white" if label != "diverging" else "#333333"))
        fig.update_xaxes(LOG_AXIS, range=[math.log10(S_RANGE[0]), math.log10(S_RANGE[1])],
                         title_text="αλ (course α)", row=1, col=col)
    ticks = [t for t in BETA_TICKS if beta_y(t) <= BETA_DECADES + 1e-9]
    fig.update_yaxes(tickmode="array", tickvals=[float(beta_y(t)) for t in ticks], ticktext=[f"{t:g}" for t in ticks],
                     range=[-0.05, BETA_DECADES + 0.05], row=1, col=1, title_text="β")
    title = "Stability map" + (" (local: the Hessian at a point of a non-quadratic surface)" if local else "")
    base_layout(fig, style, title, height=470)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0))
    return fig.to_plotly_json()


def stability_map_figure(maps: Sequence[str], dots: Sequence[Dots], style: Style, local: bool = False) -> go.Figure:
    """One panel per rule in ``maps`` ("momentum": the heavy ball, GD on its β = 0 row;
    "nesterov"): the plane (αλ, β) coloured by the rate ρ of a direction with that αλ, grey where
    it diverges, the boundaries of the monotone, oscillating and diverging regions, and the
    ``dots`` of the optimizers it covers (GD and momentum on the first, Nesterov on its own)."""
    base = _map_background(tuple(maps), style, bool(local))
    traces = list(base["data"])
    for col, name in enumerate(maps, start=1):
        axes = dict(xaxis=f"x{col if col > 1 else ''}", yaxis=f"y{col if col > 1 else ''}")
        for d in dots:
            if (d.name == "nesterov") != (name == "nesterov") or not len(d.s):
                continue
            x = np.clip(np.asarray(d.s, np.float64), *S_RANGE)
            rates = T.rate_at(d.name, d.s, d.beta)
            traces.append(dict(
                type="scatter", x=x, y=np.full(len(x), float(beta_y(d.beta))), mode="markers", meta=f"dots:{d.name}",
                name=f"{d.label}{', ' + d.where if d.where else ''}", **axes,
                marker=dict(size=style.marker_size * 1.1, color=d.color, symbol=d.symbol,
                            line=dict(color="white", width=1.5 * style.scale)),
                customdata=np.stack([np.asarray(d.lams, np.float64), rates], 1),
                hovertemplate="λ = %{customdata[0]:.4g}, αλ = %{x:.3g}<br>ρ = %{customdata[1]:.4f}<extra>"
                              + d.label + "</extra>"))
    return go.Figure(dict(data=traces, layout=base["layout"]), _validate=False)


@lru_cache(maxsize=16)
def _envelope_layout(style: Style, log: bool) -> dict:
    fig = go.Figure()
    if log:
        fig.update_yaxes(LOG_AXIS)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="f − f*")
    return base_layout(fig, style, height=380).to_plotly_json()["layout"]


def envelope_figure(curves: Sequence[dict], style: Style, log: bool = True) -> go.Figure:
    """f − f* of each run (solid) and, where the theory predicts a rate ρ, its envelope C·ρ²ᵏ
    (dashed: f − f* shrinks like the squared distance).  ``curves``: dicts with name, label,
    color, gap (steps + 1,) and, optional, envelope (steps + 1,) and rho."""
    traces = []
    for c in curves:
        gap = np.asarray(c["gap"], np.float64)
        k = np.arange(len(gap), dtype=np.int32)
        ok = np.isfinite(gap)
        traces.append(dict(type="scatter", x=k[ok], y=np.maximum(gap[ok], 1e-40).astype(np.float32), mode="lines",
                           name=c["label"], line=dict(color=c["color"], width=style.line_width)))
        env = c.get("envelope")
        if env is not None:
            env = np.asarray(env, np.float64)
            ok = np.isfinite(env) & (env > 1e-40) & (env < 1e38)
            traces.append(dict(type="scatter", x=k[ok], y=env[ok].astype(np.float32), mode="lines",
                               meta=f"envelope:{c['name']}", name=f"{c['label']}: predicted C·ρ²ᵏ, ρ = {c['rho']:.4g}",
                               line=dict(color=c["color"], width=style.line_width, dash="dash")))
    return go.Figure(dict(data=traces, layout=_envelope_layout(style, bool(log))), _validate=False)


def add_eigen_arrows(fig: go.Figure, point, eigvals, eigvecs, domain, style: Style) -> go.Figure:
    """The Hessian's eigenvectors as arrows from ``point`` (both ways, the same length), each
    labelled with its eigenvalue: the steep direction (largest λ) and the flat one.  Layout
    annotations: they stay put while the race's frames play."""
    (x0, x1), (y0, y1) = domain
    length = 0.14 * min(x1 - x0, y1 - y0)
    order = np.argsort(eigvals)[::-1]
    for rank, i in enumerate(order):
        v = np.asarray(eigvecs)[:, i] * length
        name = "steep" if rank == 0 else ("flat" if eigvals[i] > 0 else "curves down")
        for sign in (1, -1):
            end = np.asarray(point, np.float64) + sign * v
            fig.add_annotation(x=float(end[0]), y=float(end[1]), ax=float(point[0]), ay=float(point[1]),
                               xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2,
                               arrowsize=1.1, arrowwidth=style.line_width, arrowcolor="white", text="")
        tip = np.asarray(point, np.float64) + 1.25 * v  # beyond the tip: an arrow's own text sits at its tail
        tip = np.clip(tip, [x0 + 0.1 * (x1 - x0), y0 + 0.05 * (y1 - y0)], [x1 - 0.1 * (x1 - x0), y1 - 0.05 * (y1 - y0)])
        fig.add_annotation(x=float(tip[0]), y=float(tip[1]), xref="x", yref="y", showarrow=False,
                           text=f"λ = {eigvals[i]:.3g} ({name})", font=dict(color="white", size=style.font_size),
                           bgcolor="rgba(0,0,0,0.45)")
    return fig
