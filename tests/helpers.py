"""What several test files share: figure JSON checks and running a page under AppTest."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import plotly.io as pio
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
ONE_MB = 1_000_000


class Chart(NamedTuple):
    """A figure a page showed: its element id (``$$ID-<hash>-<key>``), its key and its JSON."""

    id: str
    key: str
    spec: str

    @property
    def fig(self) -> dict:
        return json.loads(self.spec)


def shown(at) -> list[Chart]:
    """The figures an AppTest run shows, in page order: those drawn in place (``ui.figure``) and
    those of ``st.plotly_chart``."""
    from ui.figure import NAME

    out = []

    def walk(node):
        kind, proto = getattr(node, "type", None), getattr(node, "proto", None)
        if kind == "plotly_chart":
            out.append(Chart(proto.id, proto.id.split("-", 2)[-1], proto.spec))
        elif kind == "bidi_component" and proto.component_name == NAME:
            out.append(Chart(proto.id, proto.id.split("-", 2)[-1], json.loads(proto.json)["spec"]))
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            walk(child)

    walk(at._tree)
    return out


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
