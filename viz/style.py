"""Colours, sizes and layout shared by every figure: one colour per optimizer, the same on every
page; a presentation scale for projectors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio

# Okabe–Ito (colour-blind safe) plus Tol's wine and a grey: readable on a projector.
OPTIMIZER_COLORS = {
    "gd": "#0072B2",
    "momentum": "#E69F00",
    "nesterov": "#CC79A7",
    "rmsprop": "#009E73",
    "adam": "#D55E00",
    "adamax": "#56B4E9",
    "nadam": "#882255",
    "adagrad": "#7F7F7F",
    "adamw": "#B8A000",
    "amsgrad": "#332288",
    "adadelta": "#44AA99",
    "radam": "#AA4499",
    "lion": "#117733",
    "schedule_free": "#999933",
    "muon": "#661100",
    "sam": "#6699CC",
}
_EXTRA = ["#332288", "#44AA99", "#AA4499", "#117733", "#999933", "#661100"]

# Viridis stops: the surface's colours (colour-blind safe, monotone in lightness).
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725"]


# Every log axis: decades as powers of ten (10⁻³, not 1m; 10⁻⁹, not 1n), the ticks between them
# unlabelled (Plotly labels them with a bare digit: "2" where the value is 0.2).  Below one decade
# Plotly switches to plain numbers by itself.
LOG_AXIS = dict(type="log", exponentformat="power", minorloglabels="none")


def power_label(v: float) -> str:
    """v > 0 as Plotly writes the ticks of a log axis: 10<sup>−4</sup>, 2×10<sup>−5</sup>, and 1,
    2, 10, 50 plain."""
    k = math.floor(math.log10(v) + 1e-9)
    if k in (0, 1):
        return f"{float(f'{v:.3g}'):g}"
    mant = f"{float(f'{v / 10.0 ** k:.3g}'):g}"
    power = f"10<sup>{'−' if k < 0 else ''}{abs(k)}</sup>"
    return power if mant == "1" else f"{mant}×{power}"


def log_ticks(lo: float, hi: float, max_ticks: int = 7) -> dict:
    """Ticks of a log10 scale from ``lo`` to ``hi`` (a colour bar's, in log10 units), labelled
    in powers of ten: the decades, or 1, 2, 5 × 10ᵏ when fewer than 3 decades fit."""
    for mantissas in ((1.0,), (1.0, 2.0, 5.0)):
        vals = [k + math.log10(m) for k in range(math.floor(lo), math.ceil(hi) + 1) for m in mantissas]
        vals = [v for v in vals if lo - 1e-9 <= v <= hi + 1e-9]
        if len(vals) >= 3:
            break
    vals = vals[:: math.ceil(len(vals) / max_ticks)] if vals else vals
    return dict(tickmode="array", tickvals=vals, ticktext=[power_label(10.0 ** v) for v in vals])


def color_of(name: str, index: int = 0) -> str:
    """The colour of an optimizer (or of any other named series, by its index)."""
    return OPTIMIZER_COLORS.get(name, _EXTRA[index % len(_EXTRA)])


# The height of a page's main figure in presentation mode: what a 1280 × 720 projector shows
# under the page's title (the sidebar is collapsed there).
PRESENTATION_MAX_HEIGHT = 480


@dataclass(frozen=True)
class Style:
    """Sizes of lines, markers and fonts; ``presentation`` enlarges them for a lecture hall."""

    presentation: bool = False
    dark: bool = False

    @property
    def scale(self) -> float:
        return 1.6 if self.presentation else 1.0

    @property
    def font_size(self) -> int:
        return round(13 * self.scale)

    @property
    def line_width(self) -> float:
        return 2.0 * self.scale

    @property
    def marker_size(self) -> float:
        return 11 * self.scale

    @property
    def template(self) -> go.layout.Template:
        # The object, not its name: figures built without validation do not resolve names.
        return pio.templates["plotly_dark" if self.dark else "plotly_white"]

    @property
    def ink(self) -> str:
        return "#f0f0f0" if self.dark else "#111111"


def base_layout(fig: go.Figure, style: Style, title: str | None = None, height: int = 520,
                main: bool = False) -> go.Figure:
    """Template, fonts, margins and legend of every figure.  Every text is set to the style's
    size explicitly (ticks, legend, titles, hover labels, colour bars): Streamlit's theme sets
    its own smaller sizes for those otherwise, and presentation mode would not enlarge them.
    In presentation mode a figure grows with its fonts, except a page's ``main`` figure: that
    one shrinks if need be, to fit a projector under the page's title, and its legend moves to
    its left (a projector is wide, and its height is short)."""
    size = style.font_size
    if style.presentation:
        height = min(height, PRESENTATION_MAX_HEIGHT) if main else round(height * 1.15)
    side = main and style.presentation
    fig.update_layout(
        template=style.template,
        font=dict(size=size),
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        title=dict(text=title, font=dict(size=round(size * 1.25))) if title else None,
        legend=dict(orientation="v", yanchor="top", y=1, xanchor="right", x=-0.06, font=dict(size=size)) if side
        else dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, font=dict(size=size)),
        hoverlabel=dict(font=dict(size=size)),
        uirevision="keep",
    )
    fig.update_annotations(font_size=size)  # subplot titles: make_subplots fixes them at 16
    fig.update_xaxes(tickfont=dict(size=size), title_font=dict(size=size))
    fig.update_yaxes(tickfont=dict(size=size), title_font=dict(size=size))
    for trace in fig.data:
        if "colorbar" in trace and trace.showscale is not False:
            trace.colorbar.update(tickfont=dict(size=size), title_font=dict(size=size))
    if fig.layout.coloraxis.to_plotly_json():
        fig.layout.coloraxis.colorbar.update(tickfont=dict(size=size), title_font=dict(size=size))
    return fig


# --- Play / Pause buttons and the frame slider of the animated figures ------------------------------


def _animate(target, ms: int) -> list:
    """The arguments of Plotly's animate: play from the current frame (target None), pause
    ([None]) or jump to a frame ([name]); no redraw (the surface image stays)."""
    return [target, {"frame": {"duration": ms, "redraw": False}, "fromcurrent": target is None,
                     "transition": {"duration": 0}, "mode": "immediate"}]


def button_height(style: Style) -> int:
    """The height in pixels of a row of Plotly buttons at the style's font size."""
    return max(33, round(style.font_size * 1.25 + 8))  # Plotly's buttons are at least 33 tall


def controls_offset(style: Style, lines_below: float) -> int:
    """Pixels from the bottom of the plot area to the buttons: ``lines_below`` lines of text
    (tick labels, an axis title) at the style's font size, and a gap."""
    return round(lines_below * style.font_size * 1.45 + 8 * style.scale)


def controls_margin(style: Style, lines_below: float = 1.0) -> int:
    """The bottom margin that holds the axis text, the buttons and the slider."""
    return controls_offset(style, lines_below) + button_height(style) + round(style.font_size * 1.3 + 36)


def play_controls(names: list[str], labels: list[str], style: Style, prefix: str, frame_ms: int,
                  fast: bool = True, active: int = 0, lines_below: float = 1.0) -> dict:
    """Play, (Fast,) Pause, Restart in a row under the plot, and under that row the frame slider
    across the whole width, its current value ("step 40 of 300") over its left end.  Nothing
    overlaps at any width or font size: buttons beside the slider covered it on a phone, and,
    enlarged for a projector, covered its current value.  The slider's own tick labels are
    hidden (dozens of them overlap; the current value says where the animation is).  Lay out
    the bottom margin with ``controls_margin``."""
    top = controls_offset(style, lines_below)
    buttons = [dict(label="▶ Play", method="animate", args=_animate(None, frame_ms))]
    if fast:
        buttons.append(dict(label="▶▶ Fast", method="animate", args=_animate(None, max(frame_ms // 3, 10))))
    buttons += [dict(label="■ Pause", method="animate", args=_animate([None], 0)),
                dict(label="◀◀ Restart", method="animate", args=_animate([names[0]], 0))]
    return dict(
        updatemenus=[dict(type="buttons", direction="left", showactive=False, x=0, y=0, xanchor="left",
                          yanchor="top", pad=dict(t=top, r=0, l=0, b=0), font=dict(size=style.font_size),
                          buttons=buttons)],
        sliders=[dict(active=active, x=0, len=1, y=0, xanchor="left", yanchor="top",
                      pad=dict(t=top + button_height(style) + 4, l=0, r=0, b=0), ticklen=3, minorticklen=0,
                      font=dict(size=1, color="rgba(0,0,0,0)"),
                      currentvalue=dict(prefix=prefix, suffix=f" of {labels[-1]}", offset=6, xanchor="left",
                                        font=dict(size=style.font_size, color=style.ink)),
                      steps=[dict(label=lab, method="animate", args=_animate([n], 0))
                             for n, lab in zip(names, labels, strict=True)])],
    )
