"""Hyperparameter tuning pictures: the sweep heatmap (diverged cells marked, every cell
clickable), the trials of grid and random search drawn on it, and their best-so-far curves.

Axes are in each hyperparameter's scale coordinate (``Axis.coord``: log₁₀ α, −log₁₀(1 − β))
with tick labels in the hyperparameter's own values, so that cells are evenly sized on the
scale the course recommends.  Arrays go out as float32 (base64 in Plotly 7): a 128 × 128 sweep
with its click layer is ~0.8 MB of JSON."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optim.search import Axis, SearchComparison, Sweep
from viz.style import LOG_AXIS, Style, base_layout, color_of, power_label
from viz.tables import counts

SYMBOLS = {"lr": "α", "beta": "β", "beta1": "β₁", "beta2": "β₂", "eps": "ε", "weight_decay": "λ", "clip": "c"}
DIVERGED = "#9a9a9a"
UNREACHED = "#f2efe6"
FLOOR = 1e-12  # the gap f − f* reaches 0 (or −1e-8 by float32 rounding): floored for a log colour scale
SEARCH_COLORS = {"grid": color_of("gd"), "random": color_of("momentum")}


def symbol(name: str) -> str:
    return SYMBOLS.get(name, name)


def _nice(v: float, scale: str = "log", decades: bool = False) -> str:
    """A tick label: of β, as many decimals as 1 − β needs (0.9, 0.95, 0.999, 0.9999); of a rate,
    a power of ten on an axis of decades (as every log axis of the app writes them) or out of
    0.001 … 10⁴, else 3 significant digits (0.01, 0.02, 0.05)."""
    if scale == "log1m" and v < 1:
        digits = math.ceil(-math.log10(1.0 - v) - 1e-9) + 1
        return f"{v:.{digits}f}".rstrip("0").rstrip(".")
    if decades or not 1e-3 <= v < 1e4:
        return power_label(v)
    return f"{float(f'{v:.3g}'):g}"


def ticks(axis: Axis, max_ticks: int = 8) -> tuple[list[float], list[str]] | None:
    """(tick coordinates, labels in values) for log and log1m axes: 1, 2, 5 × 10ᵏ (of the rate, or
    of 1 − β), thinned to decades when there are too many; None on a linear axis."""
    if axis.scale == "linear":
        return None
    lo, hi = sorted((float(axis.coord(axis.low)), float(axis.coord(axis.high))))
    cands = []
    for mants in ((1.0,), (1.0, 2.0, 5.0)):
        cands = []
        for k in range(math.floor(lo) - 1, math.ceil(hi) + 2):
            for m in mants:
                c = k + math.log10(m) if axis.scale == "log" else k - math.log10(m)
                if lo - 1e-9 <= c <= hi + 1e-9:
                    cands.append(c)
        if len(cands) >= 3:
            break
    cands = sorted(set(round(c, 9) for c in cands))
    if len(cands) > max_ticks:
        cands = cands[:: math.ceil(len(cands) / max_ticks)]
    return cands, [_nice(float(axis.value(c)), axis.scale, mants == (1.0,)) for c in cands]


def _span(axis: Axis, n: int) -> tuple[float, float]:
    """The axis range: the coordinates of low and high, plus half a cell of an n-point sweep."""
    lo, hi = float(axis.coord(axis.low)), float(axis.coord(axis.high))
    half = 0.5 * (hi - lo) / max(n - 1, 1)
    return lo - half, hi + half


def _axis_layout(axis: Axis, title: str, n: int, standoff: int = 0) -> dict:
    d = dict(title=dict(text=title), showgrid=False, zeroline=False, range=list(_span(axis, n)),
             ticklabelstandoff=standoff)
    t = ticks(axis)
    if t:
        d.update(tickmode="array", tickvals=t[0], ticktext=t[1])
    return d


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def axis_title(axis: Axis, label: str = "") -> str:
    scale = {"log": "log scale", "log1m": "spaced in log(1 − β)", "linear": "linear"}[axis.scale]
    return f"{symbol(axis.name)} {label} ({scale})".replace("  ", " ")


def heat_values(sw: Sweep, metric: str, f_star: float | None) -> tuple[np.ndarray, str]:
    """The colour of each cell and the colour bar's title: log₁₀(f − f*) (or f when f* is unknown)
    of the final loss, or the steps to the tolerance; NaN where the run diverged (or never
    reached the tolerance)."""
    if metric == "steps":
        return np.where(sw.diverged, np.nan, sw.steps_to_tol).astype(np.float32), "steps to<br>tolerance"
    final = sw.final.astype(np.float64)
    if f_star is None:
        return np.where(sw.diverged, np.nan, final).astype(np.float32), "final f"
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log10(np.maximum(final - f_star, FLOOR))
    return np.where(sw.diverged, np.nan, z).astype(np.float32), "log₁₀(f − f*)<br>after the run"


def _color_range(z: np.ndarray) -> tuple[float, float] | None:
    v = z[np.isfinite(z)]
    if not v.size:
        return None
    lo, hi = np.percentile(v, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)


def _heat_traces(sw: Sweep, ax: Axis, ay: Axis, z: np.ndarray, bar_title: str, style: Style, showscale=True,
                 unreached: np.ndarray | None = None):
    """The heatmap, a one-colour layer over the diverged cells (and, for the steps metric, over
    those that never reached the tolerance), and their keys in the legend."""
    cx, cy = ax.coord(sw.xs).astype(np.float32), ay.coord(sw.ys).astype(np.float32)
    rng = _color_range(z)
    out = [go.Heatmap(x=cx, y=cy, z=z, colorscale="Viridis", reversescale=True, hoverinfo="skip",
                      showscale=showscale, name="sweep",
                      colorbar=dict(title=dict(text=bar_title), thickness=14 * style.scale),
                      **({} if rng is None else dict(zmin=rng[0], zmax=rng[1])))]
    status = np.full(z.shape, np.nan, np.float32)  # one layer for both: 0 diverged, 1 not reached
    keys = [("diverged", DIVERGED, sw.diverged)]
    if unreached is not None:
        status[unreached] = 1.0
        keys.append(("not reached", UNREACHED, unreached))
    status[sw.diverged] = 0.0
    if np.isfinite(status).any():
        out.append(go.Heatmap(x=cx, y=cy, z=status, zmin=0, zmax=1, showscale=False, hoverinfo="skip",
                              name="diverged / not reached",
                              colorscale=[[0, DIVERGED], [0.5, DIVERGED], [0.5, UNREACHED], [1, UNREACHED]]))
    for name, color, mask in keys:
        if mask.any():
            out.append(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                  marker=dict(symbol="square", size=style.marker_size, color=color,
                                              line=dict(color=style.ink, width=0.5))))
    return out, cx, cy


def _marker(x, y, name, symbol_, color, style, size=1.4, text=""):
    return go.Scatter(x=[x], y=[y], mode="markers", name=name, hovertemplate=f"{text}<extra></extra>",
                      marker=dict(symbol=symbol_, size=style.marker_size * size, color=color,
                                  line=dict(color="black", width=1.5)))


def sweep_figure(sw: Sweep, ax: Axis, ay: Axis, style: Style, *, metric: str = "final", f_star: float | None = None,
                 best: tuple[int, int] | None = None, picked: tuple[int, int] | None = None,
                 title: str | None = None) -> go.Figure:
    """The sweep as a heatmap: colour = the final loss (log₁₀ of the gap to f* when known) or the
    steps to the tolerance; diverged cells grey.  An invisible marker on every cell centre
    carries the hover text and makes each cell clickable (a Plotly point selection); the best
    cell is a star, the picked one an open square."""
    z, bar = heat_values(sw, metric, f_star)
    unreached = (~sw.diverged & np.isnan(sw.steps_to_tol)) if metric == "steps" else None
    traces, cx, cy = _heat_traces(sw, ax, ay, z, bar, style, unreached=unreached)
    fig = go.Figure(traces, _validate=False)
    gx, gy = np.meshgrid(cx, cy)
    vx, vy = np.meshgrid(sw.xs, sw.ys)
    custom = np.stack([vx, vy, sw.final], axis=-1).reshape(-1, 3).astype(np.float32)
    sx, sy = symbol(ax.name), symbol(ay.name)
    # WebGL: an SVG marker per cell costs ~1 s to draw at 64 × 64 and ~6 s at 128 × 128.
    fig.add_trace(go.Scattergl(
        x=gx.ravel(), y=gy.ravel(), mode="markers", name="cells", showlegend=False, customdata=custom,
        marker=dict(size=max(4.0, 560 / max(len(cx), len(cy))), opacity=0, color="white"),
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate=f"{sx} = %{{customdata[0]:.6g}}<br>{sy} = %{{customdata[1]:.6g}}<br>"
                      "final f = %{customdata[2]:.4g}<br><i>click: open this run</i><extra></extra>"))
    for cell, name, sym, color in ((best, "best cell", "star", "white"), (picked, "picked cell", "square-open",
                                                                          style.ink)):
        if cell is not None:
            j, i = cell
            fig.add_trace(_marker(float(cx[i]), float(cy[j]), name, sym, color, style,
                                  text=f"{name}: {sx} = {sw.xs[i]:.6g}, {sy} = {sw.ys[j]:.6g}"))
    base_layout(fig, style, title, height=560)
    fig.update_layout(xaxis=_axis_layout(ax, axis_title(ax), len(cx)), yaxis=_axis_layout(ay, axis_title(ay), len(cy)),
                      hovermode="closest")
    return fig


def trials_figure(sw: Sweep, ax: Axis, ay: Axis, grid_u: np.ndarray, random_u: np.ndarray, style: Style, *,
                  f_star: float | None = None, grid_scores=None, random_scores=None,
                  title: str | None = None) -> go.Figure:
    """One seed's trials on the sweep's final-loss map: grid search's k × k points (circles)
    and random search's k² points (diamonds), the best of each ringed.  Their shadows on the
    axes (ticks on the bottom and left edges) show how many distinct values of each
    hyperparameter each search tried: k for the grid, k² for random search."""
    z, bar = heat_values(sw, "final", f_star)
    traces, _, _ = _heat_traces(sw, ax, ay, z, bar, style, showscale=False)
    fig = go.Figure(traces, _validate=False)
    lo_x, hi_x = float(ax.coord(ax.low)), float(ax.coord(ax.high))
    lo_y, hi_y = float(ay.coord(ay.low)), float(ay.coord(ay.high))
    # The rugs sit on the lower and left edges, a hair inside: Plotly drops markers outside the range.
    edge_x = _span(ax, len(sw.xs))[0] + 0.003 * (hi_x - lo_x)
    edge_y = _span(ay, len(sw.ys))[0] + 0.003 * (hi_y - lo_y)
    for name, u, sc, sym in (("grid", grid_u, grid_scores, "circle"), ("random", random_u, random_scores, "diamond")):
        u = np.asarray(u, np.float64)
        px, py = lo_x + u[:, 0] * (hi_x - lo_x), lo_y + u[:, 1] * (hi_y - lo_y)
        vals = np.stack([ax.from_unit(u[:, 0]), ay.from_unit(u[:, 1])], axis=-1).astype(np.float32)
        color = SEARCH_COLORS[name]
        fig.add_trace(go.Scatter(
            x=px.astype(np.float32), y=py.astype(np.float32), mode="markers", name=f"{name} search",
            customdata=vals, hovertemplate=f"{name}: {symbol(ax.name)} = %{{customdata[0]:.6g}}, "
                                           f"{symbol(ay.name)} = %{{customdata[1]:.6g}}<extra></extra>",
            marker=dict(symbol=sym, size=style.marker_size, color=color, line=dict(color="white", width=1))))
        for rx, ry, sym_ in ((px, np.full(len(px), edge_y), "line-ns"), (np.full(len(py), edge_x), py, "line-ew")):
            fig.add_trace(go.Scatter(x=rx.astype(np.float32), y=ry.astype(np.float32), mode="markers",
                                     showlegend=False, hoverinfo="skip", cliponaxis=False, name=f"{name} values",
                                     marker=dict(symbol=sym_, size=style.marker_size * 1.6,
                                                 line=dict(color=color, width=2 * style.scale))))
        if sc is not None and np.isfinite(np.asarray(sc)).any():
            b = int(np.nanargmin(np.where(np.isfinite(sc), sc, np.inf)))
            fig.add_trace(go.Scatter(x=[float(px[b])], y=[float(py[b])], mode="markers", name=f"best of {name}",
                                     hoverinfo="skip", showlegend=False,
                                     marker=dict(symbol="circle-open", size=style.marker_size * 2.2, color=color,
                                                 line=dict(width=3 * style.scale))))
    base_layout(fig, style, title, height=480)
    fig.update_layout(xaxis=_axis_layout(ax, axis_title(ax), len(sw.xs), standoff=round(10 * style.scale)),
                      yaxis=_axis_layout(ay, axis_title(ay), len(sw.ys), standoff=round(10 * style.scale)))
    return fig


def best_so_far_figure(cmp: SearchComparison, style: Style, *, quantiles=(0.1, 0.9), log: bool = True,
                       title: str | None = None) -> go.Figure:
    """The best score after each trial, for both searches: the median over seeds (line) and the
    ``quantiles`` band (shaded).  Diverged trials score +inf, so a curve starts once a seed has
    a finite best."""
    fig = go.Figure(_validate=False)
    trials = np.arange(1, cmp.grid_u.shape[1] + 1, dtype=np.int32)
    for name, best in (("grid", cmp.grid_best), ("random", cmp.random_best)):
        b = np.maximum(best, FLOOR) if log else best
        with np.errstate(invalid="ignore"):
            lo, med, hi = (np.quantile(b, q, axis=0) for q in (quantiles[0], 0.5, quantiles[1]))
        lo, med, hi = (np.where(np.isfinite(a), a, np.nan).astype(np.float32) for a in (lo, med, hi))
        color = SEARCH_COLORS[name]
        fig.add_trace(go.Scatter(x=np.concatenate([trials, trials[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                 fill="toself", mode="lines", line=dict(width=0), fillcolor=_rgba(color, 0.2),
                                 hoverinfo="skip", showlegend=False, name=f"{name} band"))
        fig.add_trace(go.Scatter(x=trials, y=med, mode="lines+markers", name=f"{name} search (median)",
                                 line=dict(color=color, width=style.line_width),
                                 marker=dict(size=style.marker_size * 0.5, color=color),
                                 hovertemplate=f"{name}: median best after %{{x}} trials = %{{y:.3g}}<extra></extra>"))
    if log:
        fig.update_yaxes(LOG_AXIS)
    fig.update_xaxes(title_text="trials")
    fig.update_yaxes(title_text="best f − f* so far" if log else "best f so far")
    base_layout(fig, style, title, height=480)
    fig.update_layout(legend=dict(orientation="v", x=0.99, xanchor="right", y=0.99, yanchor="top",
                                  bgcolor="rgba(255, 255, 255, 0.6)" if not style.dark else "rgba(0, 0, 0, 0.5)"))
    return fig


def sweep_table(sw: Sweep) -> pd.DataFrame:
    """One row per cell: the two hyperparameters, the final loss, diverged, steps to tolerance."""
    vx, vy = np.meshgrid(sw.xs, sw.ys)
    return pd.DataFrame({sw.hp_x: vx.ravel(), sw.hp_y: vy.ravel(), "final loss": sw.final.ravel(),
                         "diverged": sw.diverged.ravel(), "steps to tolerance": counts(sw.steps_to_tol.ravel())})
