"""What several test files share: figure JSON checks and running a page under AppTest."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import plotly.io as pio
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
ONE_MB = 1_000_000


def fig_json(fig) -> str:
    """The JSON Streamlit sends for a figure."""
    return pio.to_json(fig.to_dict(), validate=False)


def assert_finite_json(obj) -> None:
    """No NaN or inf anywhere in a figure's JSON (a figure, its JSON text or the parsed object),
    base64 binary arrays included."""
    if hasattr(obj, "to_dict"):
        obj = fig_json(obj)
    if isinstance(obj, str):
        assert "NaN" not in obj and "Infinity" not in obj
        _finite_tree(json.loads(obj))
    else:
        _finite_tree(obj)


def _finite_tree(obj) -> None:
    if isinstance(obj, dict):
        if set(obj) >= {"dtype", "bdata"}:
            data = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            assert np.all(np.isfinite(data.astype(np.float64))), "non-finite binary array"
            return
        for v in obj.values():
            _finite_tree(v)
    elif isinstance(obj, list):
        for v in obj:
            _finite_tree(v)
    elif isinstance(obj, float):
        assert np.isfinite(obj)


def run_page(name: str, timeout: int = 300, **query) -> AppTest:
    """Run ``app_pages/<name>.py`` once with the query string ``query``."""
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=timeout)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()
