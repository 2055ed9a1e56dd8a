"""The surface under the paths: a grid of values, its picture as a static image with level
lines (a contour trace vanishes while Plotly frames play, plotly.js #4491), and a 3-D view."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from scipy import ndimage

from viz.style import VIRIDIS, Style, base_layout, color_of, log_ticks


@dataclass(frozen=True)
class Grid:
    xs: np.ndarray  # (nx,)
    ys: np.ndarray  # (ny,)
    z: np.ndarray  # (ny, nx), z[j, i] = f(xs[i], ys[j]); non-finite where f is undefined
    domain: tuple


def make_grid(f, domain, n: int = 80) -> Grid:
    """Evaluate ``f(xy)`` (xy[..., 2]) on an n × n grid of the domain, in one vectorized call."""
    (x0, x1), (y0, y1) = domain
    xs = np.linspace(x0, x1, n, dtype=np.float32)
    ys = np.linspace(y0, y1, n, dtype=np.float32)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        z = np.asarray(f(np.stack([X, Y], axis=-1)), np.float64)
    return Grid(xs, ys, z, domain)


def wants_log_levels(z: np.ndarray) -> bool:
    """Log-spaced levels when most of the picture would otherwise be one colour: the values
    span decades above their minimum."""
    v = z[np.isfinite(z)]
    if v.size < 4:
        return False
    lo = v.min()
    med, hi = np.percentile(v, 50) - lo, np.percentile(v, 99) - lo
    return bool(med > 0 and hi / med > 30)


def level_values(z: np.ndarray, log: bool) -> np.ndarray:
    """The value shown by colour: log10(f − min + δ) on log surfaces, f (its top 0.5 % clipped) else."""
    finite = np.isfinite(z)
    if not finite.any():
        return np.zeros_like(z)
    lo = z[finite].min()
    if log:
        delta = max((np.percentile(z[finite], 99) - lo) * 1e-6, 1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log10(np.where(finite, z - lo, np.nan) + delta)
    hi = np.percentile(z[finite], 99.5)
    return np.where(finite, np.minimum(z, hi), np.nan)


def _hex_to_rgb(h: str) -> np.ndarray:
    return np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)], np.float64)


def _colormap(t: np.ndarray) -> np.ndarray:
    """Viridis at t ∈ [0, 1] → RGB (float)."""
    stops = np.array([_hex_to_rgb(c) for c in VIRIDIS])
    pos = np.linspace(0, 1, len(stops))
    return np.stack([np.interp(t, pos, stops[:, c]) for c in range(3)], axis=-1)


@dataclass(frozen=True)
class ColorScale:
    """What the colours of a surface image mean: ``n_levels`` bands of Viridis from ``lo`` to
    ``hi``, in f, or in log10(f − min f) when ``log``."""

    lo: float
    hi: float
    log: bool
    n_levels: int


class SurfaceImage(str):
    """A PNG data URI, a str as figures and caches take it, that also carries its colour scale
    (for the colour bar)."""

    scale: ColorScale

    def __new__(cls, uri: str, scale: ColorScale):
        obj = super().__new__(cls, uri)
        obj.scale = scale
        return obj

    def __reduce__(self):  # st.cache_data pickles what it returns
        return SurfaceImage, (str(self), self.scale)


def _level_field(grid: Grid, log: bool, n_levels: int) -> tuple[np.ndarray, np.ndarray, ColorScale]:
    """u = the value in units of levels (0 … n_levels) on the grid, non-finite points given
    their nearest finite neighbour's (the picture's interpolation needs a value everywhere);
    the mask of finite points; the colour scale."""
    v = level_values(grid.z, log)
    finite = np.isfinite(v)
    lo, hi = (float(np.nanmin(v)), float(np.nanmax(v))) if finite.any() else (0.0, 1.0)
    u = np.where(finite, (v - lo) / (hi - lo if hi > lo else 1.0), 0.0) * n_levels
    if finite.any() and not finite.all():
        nearest = ndimage.distance_transform_edt(~finite, return_distances=False, return_indices=True)
        u = u[tuple(nearest)]
    return u, finite, ColorScale(lo, hi, log, n_levels)


def picture_shape(domain, pixels: int) -> tuple[int, int]:
    """(rows, columns) of the picture: ``pixels`` on its long side, the domain's aspect ratio
    (kept within 1:2 … 2:1: a long thin domain is drawn stretched)."""
    (x0, x1), (y0, y1) = domain
    ratio = float(np.clip((x1 - x0) / (y1 - y0), 0.5, 2.0))
    return (round(pixels / ratio), pixels) if ratio >= 1 else (pixels, round(pixels * ratio))


def surface_image(grid: Grid, log: bool, n_levels: int = 22, pixels: int = 900, line_px: float = 1.4,
                  shades: int = 8) -> SurfaceImage:
    """A PNG data URI of the surface, ``pixels`` wide or high (about the figure's size on a
    screen: the browser then draws it without stretching it into stairs): colour bands between
    ``n_levels`` levels, anti-aliased level lines ``line_px`` wide between them, transparent
    where the function is not finite.  The grid is interpolated (cubic) up to the picture's
    size; the picture is a palette of bands × ``shades`` line shades (a third of the bytes of
    true colour).  The grid's first row is the bottom of the image."""
    u, finite, scale = _level_field(grid, log, n_levels)
    rows, cols = picture_shape(grid.domain, pixels)
    zoom = (rows / u.shape[0], cols / u.shape[1])
    uu = ndimage.zoom(u, zoom, order=3, mode="nearest")
    inside = ndimage.zoom(finite.astype(np.uint8), zoom, order=0) > 0
    band = np.clip(np.floor(uu), 0, n_levels - 1).astype(np.int32)
    level = np.round(uu)
    with np.errstate(divide="ignore", invalid="ignore"):  # distance to the nearest level, in pixels
        dist = np.abs(uu - level) / np.hypot(*np.gradient(uu))
    ink = np.where((level >= 1) & (level <= n_levels - 1), np.clip(line_px / 2 + 0.5 - dist, 0, 1), 0)
    index = band * shades + np.round(np.nan_to_num(ink) * (shades - 1)).astype(np.int32)
    clear = n_levels * shades
    index = np.where(inside, index, clear)[::-1].astype(np.uint8)  # image rows go down
    colors = _colormap((np.arange(n_levels) + 0.5) / n_levels)
    darker = 1 - 0.5 * np.arange(shades) / (shades - 1)
    palette = np.concatenate([(colors[:, None, :] * darker[None, :, None]).reshape(-1, 3), [[0, 0, 0]]])
    img = Image.fromarray(index, "P")
    img.putpalette(np.round(palette).astype(np.uint8).ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True, transparency=clear)
    return SurfaceImage("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), scale)


def band_colorscale(n_levels: int) -> list:
    """The picture's bands as a Plotly colour scale: each band one flat colour."""
    colors = _colormap((np.arange(n_levels) + 0.5) / n_levels)
    hexes = ["#%02x%02x%02x" % tuple(int(round(c)) for c in rgb) for rgb in colors]
    return [[(i + j) / n_levels, hexes[i]] for i in range(n_levels) for j in (0, 1)]


def colorbar_trace(uri: str, style: Style, name: str = "f", title_side: str = "top", **bar) -> dict | None:
    """An invisible marker whose colour bar says what the surface picture's colours mean: its
    bands, labelled in f, or in f − min f (powers of ten) on a log surface; None for a picture
    that carries no colour scale.  ``bar``: placement (x, len, …).  A plain dict: the figures
    it goes in are not validated."""
    scale = getattr(uri, "scale", None)
    if scale is None:
        return None
    ticks = log_ticks(scale.lo, scale.hi) if scale.log else {}
    title = f"{name} − min {name}" if scale.log else name
    colorbar = dict(title=dict(text=title, side=title_side), thickness=round(12 * style.scale), outlinewidth=0,
                    tickfont=dict(size=style.font_size), **{"len": 0.75, **ticks, **bar})
    return dict(type="scatter", x=[None], y=[None], mode="markers", name="colour scale", showlegend=False,
                hoverinfo="skip", marker=dict(color=[scale.lo], cmin=scale.lo, cmax=scale.hi, showscale=True,
                                              colorscale=band_colorscale(scale.n_levels), colorbar=colorbar))


def add_surface_image(fig: go.Figure, uri: str, domain) -> go.Figure:
    """Place the surface image under the data, stretched over the domain, and fix the axes to
    the domain (equal scale when the domain is not too elongated)."""
    (x0, x1), (y0, y1) = domain
    fig.add_layout_image(dict(source=str(uri), xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0,
                              sizing="stretch", layer="below", opacity=1.0))
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False, constrain="domain")
    yaxis = dict(range=[y0, y1], showgrid=False, zeroline=False, constrain="domain")
    if 1 / 3 <= (x1 - x0) / (y1 - y0) <= 3:
        yaxis.update(scaleanchor="x", scaleratio=1)
    fig.update_yaxes(**yaxis)
    return fig


def minima_trace(minima, style: Style) -> go.Scatter:
    m = np.asarray(minima, np.float32).reshape(-1, 2)
    return go.Scatter(
        x=m[:, 0], y=m[:, 1], mode="markers", name="minimum", hovertemplate="minimum (%{x:.3g}, %{y:.3g})",
        marker=dict(symbol="star", size=style.marker_size * 1.3, color="white",
                    line=dict(color="black", width=1.5)),
    )


def surface_3d_figure(grid: Grid, log: bool, paths: dict[str, np.ndarray], path_values: dict[str, np.ndarray],
                      labels: dict[str, str], style: Style, max_points: int = 300) -> go.Figure:
    """The surface in 3-D with each path drawn on it.  On log surfaces the height is
    log10(f − min + δ), as the colours of the contour."""
    v = level_values(grid.z, log)
    lo = np.nanmin(grid.z[np.isfinite(grid.z)]) if np.isfinite(grid.z).any() else 0.0
    fig = go.Figure(go.Surface(x=grid.xs, y=grid.ys, z=v.astype(np.float32), colorscale="Viridis",
                               showscale=False, opacity=0.9, name="surface", hoverinfo="skip"))
    delta = None
    if log:
        finite = grid.z[np.isfinite(grid.z)]
        delta = max((np.percentile(finite, 99) - lo) * 1e-6, 1e-12)
    vmax = np.nanmax(v) if np.isfinite(v).any() else 1.0
    for i, (name, path) in enumerate(paths.items()):
        vals = np.asarray(path_values[name], np.float64)
        ok = np.all(np.isfinite(path), axis=1) & np.isfinite(vals)
        p, vals = np.asarray(path)[ok], vals[ok]
        stride = max(1, len(p) // max_points)
        p, vals = p[::stride], vals[::stride]
        with np.errstate(all="ignore"):
            h = np.log10(np.maximum(vals - lo, 0) + delta) if log else np.minimum(vals, vmax)
        fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=h.astype(np.float32), mode="lines",
                                   name=labels.get(name, name),
                                   line=dict(color=color_of(name, i), width=5 * style.scale)))
    (x0, x1), (y0, y1) = grid.domain
    fig.update_layout(scene=dict(
        xaxis=dict(range=[x0, x1], title="x"), yaxis=dict(range=[y0, y1], title="y"),
        zaxis=dict(title="log₁₀(f − min)" if log else "f"), aspectmode="manual",
        aspectratio=dict(x=1, y=1, z=0.6)))
    return base_layout(fig, style, height=560)
