"""Downloads: a figure as a standalone HTML file that plays offline (Plotly.js embedded), and
tables as CSV.  The files are built only when the button is clicked."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st


def standalone_html(fig: go.Figure, title: str) -> str:
    """The figure as one HTML file with Plotly.js inside: it opens and plays with no network."""
    return fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False,
                       config={"displaylogo": False}, div_id="descent-lab").replace(
        "<head>", f"<head><title>{title}</title>", 1)


def holds_float32(column: pd.Series) -> bool:
    """Whether every value of a real column is a float32 number: a run's parameters, losses and
    rates are, even in a float64 column (NaN appended, or a float32 value passed through float())."""
    if not pd.api.types.is_float_dtype(column) or isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        return False
    a = column.to_numpy(np.float64)
    with np.errstate(over="ignore"):
        back = a.astype(np.float32).astype(np.float64)
    return bool(np.all((back == a) | np.isnan(a)))


def float32_text(column: pd.Series) -> pd.Series:
    """Each value as the shortest text that reads back as the same float32 (0.01, not
    0.009999999776482582: the digits beyond float32's ~7 are noise of the conversion); a
    missing value as an empty field."""
    a = column.to_numpy(np.float32)
    text = a.astype(str).astype(object)
    text[np.isnan(a)] = ""
    return pd.Series(text, index=column.index, name=column.name)


def csv_text(df: pd.DataFrame) -> str:
    """The table as CSV: float32 values as short as they read back exactly, other reals with
    every digit (their shortest round-trip form), missing values empty."""
    out = df.copy(deep=False)
    for c in df.columns:
        if holds_float32(df[c]):
            out[c] = float32_text(df[c])
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    return buf.getvalue()


def download_buttons(fig: go.Figure, table: pd.DataFrame, name: str, container=st) -> None:
    """Two buttons: the animation as HTML, the data as CSV (generated on click)."""
    c1, c2 = container.columns(2)
    c1.download_button("Download animation (HTML)", data=lambda: standalone_html(fig, name),
                       file_name=f"{name}.html", mime="text/html", on_click="ignore",
                       help="A standalone file that plays offline: Plotly.js is embedded.")
    c2.download_button("Download trajectories (CSV)", data=lambda: csv_text(table),
                       file_name=f"{name}.csv", mime="text/csv", on_click="ignore")
