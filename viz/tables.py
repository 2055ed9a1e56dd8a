"""Tables built from runs: arrays in, pandas DataFrames out (shown with st.dataframe, exported
as CSV)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optim.metrics import Outcome


def results_table(labels: list[str], outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per run: final and best loss, steps to the tolerance, path length, verdict."""
    return pd.DataFrame({
        "optimizer": labels,
        "final loss": [o.final_loss for o in outcomes],
        "best loss": [o.best_loss for o in outcomes],
        "steps to tolerance": [o.steps_to_tol for o in outcomes],
        "path length": [o.path_length for o in outcomes],
        "outcome": [o.verdict for o in outcomes],
    })


def trajectories_table(names: list[str], paths: list[np.ndarray], losses: list[np.ndarray],
                       lrs: list[np.ndarray]) -> pd.DataFrame:
    """Long format, one row per optimizer and step: step, x, y, loss, learning rate of the
    update made from that point (empty on the last row)."""
    parts = []
    for name, p, loss, lr in zip(names, paths, losses, lrs):
        n = len(p)
        parts.append(pd.DataFrame({
            "optimizer": name, "step": np.arange(n), "x": p[:, 0], "y": p[:, 1], "loss": loss,
            "lr": np.concatenate([lr, [np.nan]])[:n],
        }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
