"""The edge of stability: the sharpness λ_max(∇²L) of each full-batch run against its stability
threshold (2/α for GD, (2 + 2β)/(α(1 − β)) for EWMA momentum), and the training loss under it."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.style import LOG_AXIS, Style, base_layout


def sharpness_figure(runs: Sequence[dict], style: Style, log: bool = True) -> go.Figure:
    """``runs``: dicts with name, label, color, and the record of ``surfaces.sharpness.eos_record``
    (loss, sharp_steps, sharpness, threshold, threshold_label).  Top: the sharpness at the steps it
    was measured, each rule's threshold dashed in its colour; bottom: the training loss."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.07, row_heights=[0.6, 0.4])
    for r in runs:
        s = np.asarray(r["sharpness"], np.float64)
        ok = np.isfinite(s)
        fig.add_trace(go.Scatter(x=np.asarray(r["sharp_steps"])[ok].astype(np.int32), y=s[ok].astype(np.float32),
                                 mode="lines", name=f"{r['label']}: sharpness λ_max", meta=f"sharpness:{r['name']}",
                                 line=dict(color=r["color"], width=style.line_width)), row=1, col=1)
        if r.get("threshold") is not None:
            n = len(r["loss"]) - 1
            fig.add_trace(go.Scatter(x=[0, n], y=[r["threshold"]] * 2, mode="lines", meta=f"threshold:{r['name']}",
                                     name=f"{r['label']}: {r['threshold_label']} = {r['threshold']:.4g}",
                                     line=dict(color=r["color"], width=style.line_width, dash="dash")), row=1, col=1)
        loss = np.asarray(r["loss"], np.float64)
        ok = np.isfinite(loss)
        fig.add_trace(go.Scatter(x=np.flatnonzero(ok).astype(np.int32), y=loss[ok].astype(np.float32), mode="lines",
                                 showlegend=False, name=f"{r['label']}: loss",
                                 line=dict(color=r["color"], width=style.line_width * 0.7)), row=2, col=1)
    if log:
        fig.update_yaxes(LOG_AXIS, row=2, col=1)
    fig.update_yaxes(title_text="sharpness λ_max(∇²L)", row=1, col=1)
    fig.update_yaxes(title_text="training loss", row=2, col=1)
    fig.update_xaxes(title_text="step (full batch)", row=2, col=1)
    return base_layout(fig, style, height=560)
