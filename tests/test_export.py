"""Downloads (ui/export.py): the CSV writes a float32 run's numbers as short as they read back
exactly, keeps every digit of real float64 values, and leaves missing values empty."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ui.export import csv_text, holds_float32
from viz.tables import trajectories_table


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_float32_one_hundredth_is_written_0_01():
    lr = np.float32(0.01)
    assert float(lr) == 0.009999999776482582  # what a float64 column holds after float(lr)
    for column in (np.array([lr]), np.array([float(lr)], np.float64)):
        text = csv_text(pd.DataFrame({"lr": column}))
        assert text.splitlines() == ["lr", "0.01"]


def test_the_trajectory_table_reads_back_as_the_same_float32_values():
    rng = np.random.default_rng(0)
    path = (rng.normal(size=(300, 2)) * 10.0 ** rng.integers(-8, 8, (300, 2))).astype(np.float32)
    loss = rng.lognormal(0, 5, 300).astype(np.float32)
    lr = np.geomspace(0.1, 1e-6, 299).astype(np.float32)
    table = trajectories_table(["adam"], [path], [loss], [lr])
    assert table["lr"].dtype == np.float64  # NaN appended: float32 values in a float64 column
    back = _read(csv_text(table))
    for col, want in (("x", path[:, 0]), ("y", path[:, 1]), ("loss", loss), ("lr", lr)):
        got = back[col].to_numpy(np.float64)[: len(want)]
        np.testing.assert_array_equal(got.astype(np.float32), want)
    assert np.isnan(back["lr"].iloc[-1])
    lines = csv_text(table).splitlines()
    longest = max(len(cell) for line in lines[1:] for cell in line.split(",")[2:])
    # at most 9 significant digits (what some float32 values need to read back), not float64's 17
    assert longest <= len("-1.23456789e-08")


def test_float64_values_keep_every_digit_and_gaps_stay_empty():
    third = 1 / 3
    table = pd.DataFrame({"epoch": [third, 0.5], "steps": pd.array([3, None], dtype="Int64"), "run": ["a", "b"]})
    assert not holds_float32(table["epoch"]) and not holds_float32(table["steps"])
    text = csv_text(table)
    assert text.splitlines()[2] == "0.5,,b"
    assert _read(text)["epoch"][0] == third


@pytest.mark.parametrize("values", [[np.inf, 1.0], [np.nan, np.nan], [-0.0, 3e38]])
def test_edge_values_survive(values):
    col = np.array(values, np.float32)
    back = _read(csv_text(pd.DataFrame({"v": col})))["v"].to_numpy(np.float64)
    np.testing.assert_array_equal(back.astype(np.float32), col)
