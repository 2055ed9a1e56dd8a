"""Downloads: a figure as a standalone HTML file that plays offline (Plotly.js embedded), and
tables as CSV.  The files are built only when the button is clicked."""

from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go
import streamlit as st


def standalone_html(fig: go.Figure, title: str) -> str:
    """The figure as one HTML file with Plotly.js inside: it opens and plays with no network."""
    return fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False,
                       config={"displaylogo": False}, div_id="descent-lab").replace(
        "<head>", f"<head><title>{title}</title>", 1)


def csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue()


def download_buttons(fig: go.Figure, table: pd.DataFrame, name: str, container=st) -> None:
    """Two buttons: the animation as HTML, the data as CSV (generated on click)."""
    c1, c2 = container.columns(2)
    c1.download_button("Download animation (HTML)", data=lambda: standalone_html(fig, name),
                       file_name=f"{name}.html", mime="text/html", on_click="ignore",
                       help="A standalone file that plays offline: Plotly.js is embedded.")
    c2.download_button("Download trajectories (CSV)", data=lambda: csv_text(table),
                       file_name=f"{name}.csv", mime="text/csv", on_click="ignore")
