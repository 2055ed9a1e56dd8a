"""What every page shares: the presentation-mode setting and the figure style it implies."""

from __future__ import annotations

import streamlit as st

from ui.state import Setting
from viz.style import Style

PRESENT = Setting("present", False, "bool")
GLOBAL_SETTINGS = [PRESENT]


def style() -> Style:
    """The figure style of this session: presentation sizes, and the theme the browser shows."""
    theme = getattr(getattr(st, "context", None), "theme", None)
    dark = getattr(theme, "type", None) == "dark"
    return Style(presentation=bool(st.session_state.get(PRESENT.key, False)), dark=dark)


def presentation_css() -> str:
    """Larger text and controls for a lecture hall."""
    return ("<style>html, body, [data-testid='stMarkdownContainer'] p, label {font-size: 1.3rem !important;}"
            " h1 {font-size: 3rem !important;}</style>")


def plot(fig, key: str | None = None) -> None:
    """Show a figure full-width, with the mode bar's image export at a projector-friendly scale."""
    st.plotly_chart(fig, width="stretch", key=key,
                    config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}})
