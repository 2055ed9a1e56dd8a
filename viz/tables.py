"""Tables built from runs: arrays in, pandas DataFrames out (shown with st.dataframe, exported
as CSV).

A value that does not exist (no step reached the tolerance, a diverged run's final loss) is a
missing value, never the text "None" or "nan": NaN in a column of reals, <NA> in a column of
whole numbers (nullable ``Int64``, so that 12 is not written 12.0).  st.dataframe shows it as
its ``placeholder`` (pass ``MISSING``); a CSV leaves the field empty."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from optim.metrics import Outcome

MISSING = "—"


def numbers(values: Iterable) -> np.ndarray:
    """Reals with gaps: float64, NaN for None (and for what is already NaN)."""
    return np.array([np.nan if v is None else float(v) for v in values], np.float64)


def counts(values: Iterable) -> pd.arrays.IntegerArray:
    """Whole numbers with gaps (steps to a tolerance, the step of a divergence): nullable
    integers, <NA> for None and for non-finite values."""
    f = numbers(values)
    return pd.array(np.where(np.isfinite(f), np.round(f), np.nan), dtype="Int64")


def results_table(labels: list[str], outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per run: final and best loss, steps to the tolerance, path length, verdict."""
    return pd.DataFrame({
        "optimizer": labels,
        "final loss": numbers(o.final_loss for o in outcomes),
        "best loss": numbers(o.best_loss for o in outcomes),
        "steps to tolerance": counts(o.steps_to_tol for o in outcomes),
        "path length": numbers(o.path_length for o in outcomes),
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
