"""What every page shares: the presentation-mode setting and the figure style it implies."""

from __future__ import annotations

import streamlit as st

from ui import figure
from ui.state import Setting
from viz.style import Style

PRESENT = Setting("present", False, "bool")
GLOBAL_SETTINGS = [PRESENT]


def style() -> Style:
    """The figure style of this session: presentation sizes, and the theme the browser shows."""
    theme = getattr(getattr(st, "context", None), "theme", None)
    dark = getattr(theme, "type", None) == "dark"
    return Style(presentation=bool(st.session_state.get(PRESENT.key, False)), dark=dark)


# Presentation mode, for a projector: every text larger (the root font, so that widgets and
# st.dataframe grow too; paragraphs and widget labels 1.3 times more), captions and st.table
# included; less empty space at the top and between blocks, so that a page's title and its
# main figure with its Play controls fit in 1280 × 720 (the sidebar is collapsed there).  The
# header is made see-through: the page can start under it, only its buttons stay clickable.
PRESENTATION_CSS = """<style>
html, body, [data-testid='stMarkdownContainer'] p, label {font-size: 1.3rem !important;}
h1 {font-size: 2.4rem !important; padding: 0 0 0.2rem 0 !important;}
[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p {font-size: 1.05rem !important;}
[data-testid='stTable'] th, [data-testid='stTable'] td {font-size: 1.15rem !important;}
[data-testid='stMainBlockContainer'] {padding-top: 1rem !important; padding-bottom: 2rem !important;}
[data-testid='stVerticalBlock'] {gap: 0.5rem !important;}
[data-testid='stHeader'] {background: transparent !important; pointer-events: none;}
[data-testid='stHeader'] button, [data-testid='stHeader'] a {pointer-events: auto;}
</style>"""


def presentation_css() -> str:
    """Larger text and controls for a lecture hall (see ``PRESENTATION_CSS``)."""
    return PRESENTATION_CSS


def plot(fig, key: str) -> None:
    """Show a figure full-width, drawn in place across reruns (``ui/figure.py``), with the mode
    bar's image export at a projector-friendly scale."""
    figure.show(fig, key)
