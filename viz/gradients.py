"""Vanishing and exploding gradients, layer by layer: the scalar chain w^L, the network at
initialization (activation distributions and gradient norms per layer, the activation ×
initialization grid) and the training animation of per-layer gradient and weight norms.

Arrays in, ``go.Figure`` out.  Layers are numbered as the course does, l = 1 … L + 1 (the
engine's 0-based index + 1).  Every figure stays far below 1 MB: activations are summarized
as histograms, and the animation moves only the per-layer lines and a loss marker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.race import frame_steps
from viz.style import LOG_AXIS, VIRIDIS, Style, base_layout, controls_margin, play_controls

# Activations whose values have known bounds: their histograms use those bounds.
BOUNDED = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
BELOW, ONE, ABOVE = "#0072B2", "#7F7F7F", "#D55E00"  # vanishing, neutral, exploding (Okabe–Ito)
RUN_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
DIVERGED = "#D62728"
# Blue (the first layer's gradient ≪ the last's: vanishing), white (equal), red (exploding).
DIVERGING = [[0.0, "#2166AC"], [0.25, "#92C5DE"], [0.5, "#F7F7F7"], [0.75, "#F4A582"], [1.0, "#B2182B"]]


def _positive(a) -> np.ndarray:
    """float32 with non-finite and non-positive values set to 0: a log axis does not draw them
    (a gap), and JSON has no NaN."""
    a = np.asarray(a, np.float64)
    a = np.where(np.isfinite(a) & (a > 0), a, 0.0)
    return np.minimum(a, np.finfo(np.float32).max).astype(np.float32)


def _short(a) -> list:
    """A frame's values as a list of 4-significant-digit floats, None where a log axis has nothing
    to draw: frames of lists validate and serialize twice as fast as small NumPy arrays."""
    return [float(f"{x:.4g}") if x > 0 else None for x in _positive(a)]


def _evenly(n: int, most: int) -> np.ndarray:
    """At most ``most`` evenly spaced indices of 0 … n − 1, the first and the last included."""
    return np.unique(np.round(np.linspace(0, n - 1, min(n, most))).astype(int))


def log_range(*arrays, pad: float = 0.3) -> list[float]:
    """[log10 lo − pad, log10 hi + pad] over the finite positive values (a fixed axis range:
    the frames of an animation do not rescale their axes)."""
    vals = np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in arrays] or [np.ones(1)])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not len(vals):
        return [-1.0, 1.0]
    lo, hi = np.log10(vals.min()), np.log10(vals.max())
    return [float(lo - pad), float(hi + pad)]


def sci(x: float) -> str:
    """'overflow' for a non-finite value; 1 significant digit below 1e-3 or from 1e4 (ratios span
    20 decades), else 3."""
    if not np.isfinite(x):
        return "overflow"
    return f"{x:.0e}" if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4) else f"{x:.3g}"


# --- the scalar chain --------------------------------------------------------------------------------


def w_color(w: float) -> str:
    return BELOW if w < 1 else (ONE if w == 1 else ABOVE)


def scalar_figure(w, powers, style: Style, height: int = 330) -> go.Figure:
    """w^l against l for each w (a row of ``powers``, l = 0 … L) on a log axis: ŷ = w^L x through
    L one-unit linear layers, the product the gradient also is."""
    w = np.asarray(w, np.float64)
    powers = np.asarray(powers, np.float64)
    L = powers.shape[1] - 1
    fig = go.Figure(_validate=False)
    ls = np.arange(L + 1, dtype=np.int32)
    for wi, row in zip(w, powers):
        fig.add_trace(go.Scatter(x=ls, y=_positive(row), mode="lines",
                                 name=f"w = {wi:g}: w<sup>{L}</sup> = {sci(row[-1])}",
                                 line=dict(color=w_color(wi), width=style.line_width),
                                 hovertemplate=f"w = {wi:g}<br>w<sup>%{{x}}</sup> = %{{y:.3g}}<extra></extra>"))
        fig.add_annotation(x=L, y=float(np.log10(row[-1])), text=f"{wi:g}<sup>{L}</sup> ≈ {sci(row[-1])}",
                           showarrow=False, xanchor="right", yanchor="bottom", font=dict(color=w_color(wi)))
    fig.update_xaxes(title_text="number of layers L", range=[0, L])
    fig.update_yaxes(LOG_AXIS, title_text="w<sup>L</sup>", range=log_range(powers, pad=0.25))
    return base_layout(fig, style, height=height)


# --- at initialization -------------------------------------------------------------------------------


def value_bounds(layers, activation: str | None = None, q: float = 0.005) -> tuple[float, float]:
    """The histogram range: the activation's bounds if it has some, else the q and 1 − q
    quantiles of every finite value of every layer (a common scale: an exploding signal makes
    the early layers look like zero next to the late ones, which is the point)."""
    if activation in BOUNDED:
        return BOUNDED[activation]
    vals = np.concatenate([np.ravel(np.asarray(a, np.float32)) for a in layers])
    vals = vals[np.isfinite(vals)]
    if len(vals) > 200_000:  # quantiles of a systematic sample: the same to the eye, 10× faster
        vals = vals[:: len(vals) // 200_000]
    if not len(vals):
        return (-1.0, 1.0)
    lo, hi = (float(v) for v in np.quantile(vals, [q, 1 - q]))
    if hi - lo < 1e-6 * max(1.0, abs(lo)):
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def activation_histograms(layers, bounds: tuple[float, float], bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Per layer, the fraction of its (finite) values in each of ``bins`` equal bins over
    ``bounds``, values outside counted in the end bins.  Returns (edges (bins + 1,),
    fractions (n_layers, bins)), each row summing to 1 (0 for a layer with no finite value)."""
    lo, hi = bounds
    edges = np.linspace(lo, hi, bins + 1)
    out = np.zeros((len(layers), bins), np.float32)
    for i, a in enumerate(layers):
        v = np.ravel(np.asarray(a, np.float64))
        v = np.clip(v[np.isfinite(v)], lo, hi)
        if len(v):
            out[i] = np.histogram(v, edges)[0] / len(v)
    return edges, out


def activation_figure(edges, fractions, style: Style, title: str | None = None, height: int = 400) -> go.Figure:
    """A heatmap of the histograms: layer l across, the value of a_l = g(z_l) up, colour = the
    share of the layer's units (over all examples) in that bin."""
    edges = np.asarray(edges, np.float64)
    centers = ((edges[:-1] + edges[1:]) / 2).astype(np.float32)
    f = np.asarray(fractions, np.float32)
    fig = go.Figure(_validate=False)
    fig.add_trace(go.Heatmap(
        x=np.arange(1, f.shape[0] + 1, dtype=np.int32), y=centers, z=np.ascontiguousarray(f.T),
        zmin=0.0, zmax=float(max(f.max(), 1e-9)),
        colorscale=[[i / (len(VIRIDIS) - 1), c] for i, c in enumerate(VIRIDIS)],
        colorbar=dict(title=dict(text="share"), tickformat=".0%", len=0.8),
        hovertemplate="layer %{x}<br>a ≈ %{y:.3g}: %{z:.1%} of the values<extra></extra>"))
    fig.update_xaxes(title_text="hidden layer l")
    fig.update_yaxes(title_text="a<sub>l</sub> = g(z<sub>l</sub>)")
    return base_layout(fig, style, title, height=height)


def layer_norms_figure(grad_norms, act_std, style: Style, title: str | None = None, height: int = 400) -> go.Figure:
    """Per layer on a log axis: ‖∂J/∂W_l‖ (the backward signal, layers 1 … L + 1) and the
    standard deviation of a_l (the forward signal, hidden layers 1 … L)."""
    g = np.asarray(grad_norms, np.float64)
    s = np.asarray(act_std, np.float64)
    ratio = g[0] / g[-1] if g[-1] != 0 else np.inf
    fig = go.Figure(_validate=False)
    fig.add_trace(go.Scatter(x=np.arange(1, len(g) + 1, dtype=np.int32), y=_positive(g), mode="lines+markers",
                             name="‖∂J/∂W<sub>l</sub>‖ (backward)", line=dict(color=ABOVE, width=style.line_width),
                             marker=dict(size=style.marker_size * 0.6),
                             hovertemplate="layer %{x}: ‖∂J/∂W‖ = %{y:.3g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.arange(1, len(s) + 1, dtype=np.int32), y=_positive(s), mode="lines+markers",
                             name="std of a<sub>l</sub> (forward)",
                             line=dict(color=BELOW, width=style.line_width, dash="dot"),
                             marker=dict(size=style.marker_size * 0.5),
                             hovertemplate="layer %{x}: std(a) = %{y:.3g}<extra></extra>"))
    fig.add_annotation(x=0.5, y=1.0, xref="paper", yref="paper", yanchor="bottom", showarrow=False,
                       text=f"first / last layer: {sci(ratio)}")
    fig.update_xaxes(title_text="layer l (L + 1 is the output layer)")
    fig.update_yaxes(LOG_AXIS, range=log_range(g, s))
    base_layout(fig, style, title, height=height)
    fig.update_layout(legend=dict(y=-0.25, yanchor="top"), margin=dict(b=60))
    return fig


def comparison_figure(first, last, activations: list[str], inits: list[str], style: Style,
                      current: tuple[int, int] | None = None, height: int = 380) -> go.Figure:
    """The activation × initialization grid at initialization: colour = log10 of ‖∂J/∂W₁‖ /
    ‖∂J/∂W_{L+1}‖ (blue: the first layer's gradient vanishes, red: it explodes), each cell
    annotated with that ratio and the first layer's norm.  ``current``: the (row, column) of
    the page's configuration, outlined."""
    first = np.asarray(first, np.float64)
    last = np.asarray(last, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = first / last
        z = np.log10(ratio)
    ok = np.isfinite(z)
    span = float(max(2.0, np.ceil(np.max(np.abs(z[ok]))) if ok.any() else 2.0))
    text = [[f"{sci(ratio[i, j]) if ok[i, j] else 'overflow'}<br>‖g₁‖ {sci(first[i, j])}"
             for j in range(len(inits))] for i in range(len(activations))]
    fig = go.Figure(_validate=False)
    fig.add_trace(go.Heatmap(
        x=list(inits), y=list(activations), z=[[float(v) if o else None for v, o in zip(r, k)] for r, k in zip(z, ok)],
        zmin=-span, zmax=span, zmid=0.0, colorscale=DIVERGING, text=text, texttemplate="%{text}",
        textfont=dict(size=style.font_size - 1), xgap=2, ygap=2,
        colorbar=dict(title=dict(text="log₁₀ first/last"), len=0.9),
        hovertemplate="%{y} · %{x}<br>first / last = %{text}<extra></extra>"))
    if current is not None:
        i, j = current
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, xref="x", yref="y",
                      line=dict(color=style.ink, width=3 * style.scale))
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, style, "‖∂J/∂W₁‖ / ‖∂J/∂W<sub>L+1</sub>‖ at initialization", height=height)


# --- during training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunTrace:
    """One training run as the figures need it: per recorded update ``step`` (n,), the
    mini-batch ``loss`` (n,), ``grad_norms`` and ``weight_norms`` (n, L + 1); ``diverged`` the
    (update, 0-based layer) of the first non-finite value, or None; ``mine`` marks the page's
    own configuration among the variants."""

    label: str
    step: np.ndarray
    loss: np.ndarray
    grad_norms: np.ndarray
    weight_norms: np.ndarray
    diverged: tuple[int, int] | None = None
    mine: bool = False


def _title(r: RunTrace, details: bool = True) -> str:
    t = ("★ " if r.mine else "") + r.label
    if r.diverged and details:
        t += f"<br><span style='color:{DIVERGED}'>diverged: update {r.diverged[0]}, layer {r.diverged[1] + 1}</span>"
    return t


def _axis(letter: str, k: int, ref: bool = False) -> str:
    """Subplot k's layout key (``yaxis5``) or trace reference (``y5``); subplot 1 is ``x``, ``y``."""
    suffix = "" if k == 1 else str(k)
    return f"{letter}{suffix}" if ref else f"{letter}axis{suffix}"


def subplot_grid(rows: int, cols: int, row_heights=None, hspace: float = 0.04, vspace: float = 0.09,
                 titles=()) -> dict:
    """A layout dict of rows × cols subplots laid out as make_subplots does (subplot
    k = (row − 1)·cols + col on axes x{k}, y{k}, row 1 on top), with a title above each column.
    Built as a plain dict: make_subplots and validated updates cost ~0.5 s on a 3 × 4 grid."""
    heights = np.asarray(row_heights if row_heights is not None else [1.0] * rows, np.float64)
    heights = heights / heights.sum() * (1 - vspace * (rows - 1))
    width = (1 - hspace * (cols - 1)) / cols
    layout, top = {}, 1.0
    for r in range(rows):
        bottom = max(top - heights[r], 0.0)
        for c in range(cols):
            k = r * cols + c + 1
            x0 = c * (width + hspace)
            layout[_axis("x", k)] = dict(domain=[x0, x0 + width], anchor=_axis("y", k, True))
            layout[_axis("y", k)] = dict(domain=[bottom, top], anchor=_axis("x", k, True))
        top = bottom - vspace
    layout["annotations"] = [dict(text=t, x=c * (width + hspace) + width / 2, y=1.0, xref="paper", yref="paper",
                                  xanchor="center", yanchor="bottom", showarrow=False) for c, t in enumerate(titles)]
    return layout


def training_figure(runs: list[RunTrace], style: Style, max_frames: int = 60, frame_ms: int = 90,
                    height: int = 780, max_curve: int = 1500) -> go.Figure:
    """One column per run: ‖∂J/∂W_l‖ and ‖W_l‖ against the layer l, moving over the recorded
    updates (the initial profile stays, faint), and the loss against the update with a marker
    at the current one.  A diverged run has a dashed line at its layer and at its update.
    Axes are fixed and shared by the row, so the columns compare at a glance; frames carry only
    the 3 moving traces of each run; the loss curve keeps at most ``max_curve`` evenly spaced
    updates."""
    n = len(runs)
    layout = subplot_grid(3, n, [0.38, 0.31, 0.31], 0.04 if n > 2 else 0.08, 0.12, [_title(r) for r in runs])
    g_rng = log_range(*[r.grad_norms for r in runs])
    w_rng = log_range(*[r.weight_norms for r in runs])
    # The losses on a log axis (they are ≥ 0), a loss of exactly 0 (an overflowed logit on the
    # right side) drawn at the smallest positive one: one shared, fixed range for the row.
    finite = np.concatenate([np.asarray(r.loss, np.float64)[np.isfinite(r.loss)] for r in runs] + [np.ones(1)])
    loss_pos = bool(np.all(finite >= 0))
    floor = float(finite[finite > 0].min()) if np.any(finite > 0) else 1.0
    losses = [np.where(np.isfinite(r.loss), np.maximum(np.asarray(r.loss, np.float64), floor), np.nan)
              if loss_pos else np.nan_to_num(np.asarray(r.loss, np.float32)) for r in runs]
    l_rng = log_range(*losses, pad=0.1) if loss_pos else None
    titles = ("‖∂J/∂W<sub>l</sub>‖", "‖W<sub>l</sub>‖", "loss J")
    for row, (rng, kind, xtitle) in enumerate([(g_rng, "log", None), (w_rng, "log", "layer l"),
                                               (l_rng, "log" if loss_pos else "linear", "update t")]):
        for c in range(n):
            k = row * n + c + 1
            layout[_axis("y", k)].update(LOG_AXIS if kind == "log" else dict(type=kind), showticklabels=c == 0,
                                         **({"range": rng} if rng else {}),
                                         **({"title": dict(text=titles[row])} if c == 0 else {}))
            layout[_axis("x", k)].update(**({"title": dict(text=xtitle)} if xtitle else {}))
    data, moving = [], []

    def add(trace: dict, row: int, col: int) -> int:
        k = row * n + col + 1
        data.append(dict(trace, type="scatter", xaxis=_axis("x", k, True), yaxis=_axis("y", k, True)))
        return len(data) - 1

    for c, r in enumerate(runs):
        color = RUN_COLORS[c % len(RUN_COLORS)]
        layers = np.arange(1, r.grad_norms.shape[1] + 1, dtype=np.int32)
        steps = np.asarray(r.step, np.int32)
        faint = dict(mode="lines", line=dict(color=ONE, width=1, dash="dot"), hoverinfo="skip", legendgroup="init")
        add(dict(faint, x=layers, y=_positive(r.grad_norms[0]), name="at initialization", showlegend=c == 0), 0, c)
        add(dict(faint, x=layers, y=_positive(r.weight_norms[0]), showlegend=False), 1, c)
        loss = _positive(losses[c]) if loss_pos else losses[c].astype(np.float32)
        keep = _evenly(len(steps), max_curve)  # 30,000 updates on a 300-pixel panel: no loss of detail
        add(dict(x=steps[keep], y=loss[keep], mode="lines", showlegend=False, opacity=0.6,
                 line=dict(color=color, width=style.line_width * 0.6),
                 hovertemplate="update %{x}: J = %{y:.3g}<extra></extra>"), 2, c)
        if r.diverged:
            t, layer = r.diverged
            lo, hi = (10 ** l_rng[0], 10 ** l_rng[1]) if l_rng else (float(np.min(loss)), float(np.max(loss)))
            line = dict(mode="lines", name="diverged (layer, update)", legendgroup="div",
                        line=dict(color=DIVERGED, dash="dash", width=2),
                        hovertemplate=f"diverged: update {t}, layer {layer + 1}<extra></extra>")
            add(dict(line, x=[layer + 1, layer + 1], y=[10 ** g_rng[0], 10 ** g_rng[1]],
                     showlegend=not any(q.diverged for q in runs[:c])), 0, c)
            add(dict(line, x=[t, t], y=[lo, hi], showlegend=False), 2, c)
        mark = dict(mode="lines+markers", line=dict(color=color, width=style.line_width))
        moving.append(add(dict(mark, x=layers, y=_positive(r.grad_norms[0]), name="‖∂J/∂W<sub>l</sub>‖",
                               legendgroup="g", showlegend=c == 0, marker=dict(size=style.marker_size * 0.45),
                               hovertemplate="layer %{x}: ‖∂J/∂W‖ = %{y:.3g}<extra></extra>"), 0, c))
        moving.append(add(dict(mark, x=layers, y=_positive(r.weight_norms[0]), name="‖W<sub>l</sub>‖",
                               legendgroup="w", showlegend=c == 0, line=dict(color=color, width=style.line_width,
                                                                             dash="dash"),
                               marker=dict(size=style.marker_size * 0.45, symbol="square"),
                               hovertemplate="layer %{x}: ‖W‖ = %{y:.3g}<extra></extra>"), 1, c))
        moving.append(add(dict(x=steps[:1], y=loss[:1], mode="markers", showlegend=False,
                               hoverinfo="skip", marker=dict(color=color, size=style.marker_size,
                                                             line=dict(color="white", width=1))), 2, c))
    frames = []
    for k in frame_steps(max(len(r.step) for r in runs) - 1, max_frames):
        fdata = []
        for r, loss in zip(runs, losses):
            kk = min(int(k), len(r.step) - 1)
            fdata += [dict(type="scatter", y=_short(r.grad_norms[kk])),
                      dict(type="scatter", y=_short(r.weight_norms[kk])),
                      dict(type="scatter", x=[int(r.step[kk])],
                           y=[float(f"{loss[kk]:.4g}") if np.isfinite(loss[kk]) else None])]
        frames.append(dict(name=str(int(runs[0].step[min(int(k), len(runs[0].step) - 1)])), traces=moving,
                           data=fdata))
    names = [f["name"] for f in frames]
    layout |= play_controls(names, names, style, "update t = ", frame_ms, fast=False, lines_below=2)
    fig = go.Figure(dict(data=data, layout=layout, frames=frames), _validate=False)
    base_layout(fig, style, height=height)
    fig.update_layout(margin=dict(t=90, b=controls_margin(style, lines_below=2)), legend=dict(y=1.09))
    return fig


def history_figure(runs: list[RunTrace], style: Style, max_columns: int = 200, height: int = 300) -> go.Figure:
    """log10 ‖∂J/∂W_l‖ over (update, layer) for each run, one colour scale: where the gradient
    vanishes (dark) or explodes (bright), and an ✕ where a run diverged.  At most
    ``max_columns`` updates are drawn (evenly spaced, the divergence's included)."""
    n = len(runs)
    layout = subplot_grid(1, n, hspace=0.03, titles=[_title(r, details=False) for r in runs])
    rng = log_range(*[r.grad_norms for r in runs], pad=0.0)
    data = []
    for c, r in enumerate(runs):
        x, y = _axis("x", c + 1, True), _axis("y", c + 1, True)
        layout[_axis("x", c + 1)]["title"] = dict(text="update t")
        layout[_axis("y", c + 1)].update(showticklabels=c == 0, **({"title": dict(text="layer l")} if c == 0 else {}))
        g = np.asarray(r.grad_norms, np.float64)
        cols = _evenly(len(g), max_columns)
        if r.diverged:
            cols = np.union1d(cols, np.flatnonzero(np.asarray(r.step) == r.diverged[0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log10(g[cols]).T
        data.append(dict(type="heatmap", x=np.asarray(r.step, np.int32)[cols], y=np.arange(1, g.shape[1] + 1,
                                                                                          dtype=np.int32),
                         z=np.where(np.isfinite(z), z, np.nan).astype(np.float32), coloraxis="coloraxis",
                         xaxis=x, yaxis=y,
                         hovertemplate="update %{x}, layer %{y}<br>log₁₀‖∂J/∂W‖ = %{z:.2f}<extra></extra>"))
        if r.diverged:
            t, layer = r.diverged
            data.append(dict(type="scatter", x=[t], y=[layer + 1], mode="markers", xaxis=x, yaxis=y,
                             name="diverged", showlegend=False,
                             marker=dict(symbol="x", size=style.marker_size * 1.4, color=DIVERGED,
                                         line=dict(color="white", width=1.5)),
                             hovertemplate=f"diverged: update {t}, layer {layer + 1}<extra></extra>"))
    layout["coloraxis"] = dict(cmin=rng[0], cmax=rng[1], colorbar=dict(title=dict(text="log₁₀‖∂J/∂W‖")),
                               colorscale=[[i / (len(VIRIDIS) - 1), c] for i, c in enumerate(VIRIDIS)])
    fig = go.Figure(dict(data=data, layout=layout), _validate=False)
    return base_layout(fig, style, height=height)


def norms_table(runs: list[RunTrace], max_steps: int = 500) -> pd.DataFrame:
    """Long table for the CSV download: run, update, layer, ‖∂J/∂W_l‖, ‖W_l‖, loss, at no
    more than ``max_steps`` evenly spaced recorded updates per run."""
    parts = []
    for r in runs:
        idx = _evenly(len(r.step), max_steps)
        L = r.grad_norms.shape[1]
        parts.append(pd.DataFrame({
            "run": r.label, "update": np.repeat(np.asarray(r.step)[idx], L),
            "layer": np.tile(np.arange(1, L + 1), len(idx)),
            "grad_norm": np.asarray(r.grad_norms, np.float64)[idx].ravel(),
            "weight_norm": np.asarray(r.weight_norms, np.float64)[idx].ravel(),
            "loss": np.repeat(np.asarray(r.loss, np.float64)[idx], L)}))
    return pd.concat(parts, ignore_index=True)
