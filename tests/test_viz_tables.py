"""Every table builder of viz/ with runs that diverged or never reached their target: a missing
value is missing (NaN, <NA>), never the text "None" or "nan", so that st.dataframe shows its
placeholder (MISSING) and a CSV an empty field; whole numbers stay whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import test_viz_data
import test_viz_gradients
import test_viz_network
import test_viz_tuning

from optim.metrics import outcome
from surfaces.data import make_model
from ui.export import csv_text
from viz import data, decay, gradients, network, tables, tuning

NOT_TEXT = ("None", "none", "nan", "NaN", "<NA>", "inf")


def _outcomes():
    """A run that converged and one that diverged at step 3 (no tolerance reached, NaN loss)."""
    path = np.zeros((6, 2), np.float32)
    calm = outcome(path, np.geomspace(1.0, 1e-4, 6), None, ((-1, 1), (-1, 1)), 1e-3)
    wild = outcome(path, np.array([1.0, 10.0, 1e3, np.nan, np.nan, np.nan]), 3, ((-1, 1), (-1, 1)), 1e-3)
    return calm, wild


def _decay_records():
    loss = np.geomspace(1.0, 1e-4, 21)
    return {"constant": dict(params=np.zeros((21, 2)), loss=np.concatenate([loss[:5], np.full(16, np.nan)]),
                             lr=np.full(20, 0.1), diverged_at=5),
            "cosine": dict(params=np.zeros((21, 2)), loss=loss, lr=np.linspace(0.1, 0.0, 20), diverged_at=None)}


def _builders():
    """(table, its columns of whole numbers, the columns that must have a gap) per builder."""
    calm, wild = _outcomes()
    model = make_model("linear", m=100, noise=1.0, seed=0)
    batch = [test_viz_data._run("1", 100, 5, diverge_at=120, model=model), test_viz_data._run("m", 100, 5, model=model)]
    net = test_viz_network.fake_runs(2)
    net[1] = network.NetRun(net[1].name, net[1].label, {**net[1].rec, "test_loss": np.full(31, np.nan)}, 1)
    return {
        "results_table": (tables.results_table(["GD", "Adam"], [calm, wild]), {"steps to tolerance"},
                          {"steps to tolerance"}),
        "summary_table": (data.summary_table(batch, 0.9, 1e-9), {"examples per update", "updates"},
                          {"final L − L*", "epochs to target", "ms to target"}),
        "decay_table": (decay.decay_table(_decay_records(), 0.0, 1e-3), {"steps to tolerance", "diverged at"},
                        {"final f − f*", "mean f − f*, last 10 %", "diverged at", "steps to tolerance"}),
        "network results_table": (network.results_table(net), set(), {"test loss"}),
        "sweep_table": (tuning.sweep_table(test_viz_tuning.fake_sweep(6)), {"steps to tolerance"},
                        {"steps to tolerance"}),
        "trajectories_table": (tables.trajectories_table(["GD"], [np.zeros((4, 2))], [np.ones(4)], [np.ones(3)]),
                               {"step"}, {"lr"}),
        # 2,000 SGD updates: the loss is evaluated at 1,500 of them, the other rows have none
        "runs_table": (data.runs_table([test_viz_data._run("1", 100, 20, model=model)]), {"step"}, {"loss"}),
        "history_table": (network.history_table(net), {"epoch"}, {"test_loss"}),
        "norms_table": (gradients.norms_table(test_viz_gradients._runs(2, 40, 5)), {"update", "layer"}, {"loss"}),
    }


BUILT = _builders()


@pytest.mark.parametrize("name", BUILT)
def test_missing_values_are_missing_not_text(name):
    table, whole, gaps = BUILT[name]
    for col in table.columns:
        cells = table[col]
        if pd.api.types.is_numeric_dtype(cells):
            continue
        # the rest are text columns (labels, verdicts): a number in there would be a missing one
        assert pd.api.types.is_string_dtype(cells), f"{name}: {col} is {cells.dtype}"
        assert not cells.isna().any(), f"{name}: {col} holds None in a text column"
        assert not cells.astype(str).isin(NOT_TEXT).any(), f"{name}: {col} holds the text of a missing value"
    for col in gaps:
        assert table[col].isna().any(), f"{name}: the fixture should leave a gap in {col}"
    for col in whole:
        assert pd.api.types.is_integer_dtype(table[col]), f"{name}: {col} is {table[col].dtype}, not whole numbers"


@pytest.mark.parametrize("name", BUILT)
def test_st_dataframe_receives_nulls_and_the_csv_empty_fields(name):
    """st.dataframe sends the table through Arrow: each missing value arrives as a null, which it
    draws as its placeholder."""
    table, _, gaps = BUILT[name]
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    for col in gaps:
        assert arrow.column(col).null_count == int(table[col].isna().sum()) > 0
    text = csv_text(table)
    for word in NOT_TEXT[:5]:
        assert f",{word}," not in text and f",{word}\n" not in text


def test_counts_and_numbers():
    c = tables.counts([3, None, 4.0, np.nan, np.inf])
    assert list(c.isna()) == [False, True, False, True, True] and list(c.dropna()) == [3, 4]
    np.testing.assert_array_equal(np.isnan(tables.numbers([0.5, None, np.nan])), [False, True, True])
    assert tables.MISSING == "—"
