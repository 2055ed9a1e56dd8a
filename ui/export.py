"""Downloads: a figure as a standalone HTML file that plays offline (Plotly.js embedded), tables
as CSV (both built only when their button is clicked), and for slides the animated figure as a
GIF or MP4 and any figure as a PNG (``viz.video``: rendered on the server when the Render button
is clicked, with a progress bar, then offered as a download; never on a rerun)."""

from __future__ import annotations

import hashlib
import io
import threading

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from viz import video


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
    """Two buttons: the animation as HTML, the data as CSV (generated on click); under them the
    figure for slides (``media_buttons``)."""
    c1, c2 = container.columns(2)
    c1.download_button("Download animation (HTML)", data=lambda: standalone_html(fig, name),
                       file_name=f"{name}.html", mime="text/html", on_click="ignore",
                       help="A standalone file that plays offline: Plotly.js is embedded.")
    c2.download_button("Download trajectories (CSV)", data=lambda: csv_text(table),
                       file_name=f"{name}.csv", mime="text/csv", on_click="ignore")
    media_buttons(fig, name, container)


MEDIA = {"gif": "Animated GIF", "mp4": "Video (MP4)", "png": "Still image (PNG)"}
VIDEO_FRAMES = 60  # the default: 6 optimizers × 300 steps render in ~10 s on 2 cores
VIDEO_WIDTH = 1000
_SLOT = "_export_media"  # the session's last render: (name, format, frames, figure's fingerprint, bytes)
# One render at a time per server process: each starts a Chromium (~200 MB) and keeps a core busy.
_RENDERING = threading.Lock()


def fingerprint(fig: go.Figure) -> str:
    """What identifies the figure a render was made of (~20 ms for a race): a rerun that changed
    it no longer offers the old file."""
    return hashlib.blake2b(fig.to_json().encode(), digest_size=16).hexdigest()


def media_buttons(fig: go.Figure, name: str, container=st) -> None:
    """Format (GIF, MP4 for an animated figure; PNG for any), number of frames, a Render button;
    once rendered, the download button of the file (kept for the session while the figure stays
    the same)."""
    animated = len(fig.frames) > 1
    kinds = list(MEDIA) if animated else ["png"]
    c1, c2, c3 = container.columns([3, 2, 2], vertical_alignment="bottom")
    fmt = c1.radio("For slides", kinds, format_func=MEDIA.get, key="_export_format",
                   help="Rendered on the server by Plotly.js in Chromium: the figure as on screen.")
    frames = None
    if fmt != "png":
        frames = int(c2.number_input("frames", min_value=2, max_value=len(fig.frames),
                                     value=min(VIDEO_FRAMES, len(fig.frames)), step=10, key="_export_frames",
                                     help="Evenly spaced frames of the animation, the first and last included; "
                                          "the video plays as long as the animation on screen."))
    if c3.button("Render", key="_export_render", width="stretch"):
        bar = container.progress(0.0, text="Starting Chromium…")
        report = lambda done, total: bar.progress(done / total, text=f"Rendering frame {done} of {total}")
        try:
            if not _RENDERING.acquire(blocking=False):
                bar.progress(0.0, text="Waiting for another student's render to finish…")
                _RENDERING.acquire()
            try:
                data = video.render(fig, fmt, frames, width=VIDEO_WIDTH, scale=2.0 if fmt == "png" else 1.0,
                                    progress=report)
            finally:
                _RENDERING.release()
        except video.RenderError as exc:
            bar.empty()
            container.error(str(exc))
            return
        bar.empty()
        st.session_state[_SLOT] = (name, fmt, frames, fingerprint(fig), data)
    done = st.session_state.get(_SLOT)
    if done and done[:3] == (name, fmt, frames) and done[3] == fingerprint(fig):
        container.download_button(f"Download {fmt.upper()} ({len(done[4]) / 1e6:.1f} MB)",
                                  data=done[4], file_name=f"{name}.{fmt}", mime=video.FORMATS[fmt],
                                  on_click="ignore", key="_export_download", type="primary")
