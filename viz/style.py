"""Colours, sizes and layout shared by every figure: one colour per optimizer, the same on every
page; a presentation scale for projectors."""

from __future__ import annotations

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
}
_EXTRA = ["#332288", "#44AA99", "#AA4499", "#117733", "#999933", "#661100"]

# Viridis stops: the surface's colours (colour-blind safe, monotone in lightness).
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725"]


# Every log axis: decades as powers of ten (10⁻³, not 1m; 10⁻⁹, not 1n), the ticks between them
# unlabelled (Plotly labels them with a bare digit: "2" where the value is 0.2).  Below one decade
# Plotly switches to plain numbers by itself.
LOG_AXIS = dict(type="log", exponentformat="power", minorloglabels="none")


def color_of(name: str, index: int = 0) -> str:
    """The colour of an optimizer (or of any other named series, by its index)."""
    return OPTIMIZER_COLORS.get(name, _EXTRA[index % len(_EXTRA)])


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


def base_layout(fig: go.Figure, style: Style, title: str | None = None, height: int = 520) -> go.Figure:
    fig.update_layout(
        template=style.template,
        font=dict(size=style.font_size),
        height=round(height * (1.15 if style.presentation else 1.0)),
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        title=dict(text=title) if title else None,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        uirevision="keep",
    )
    return fig
