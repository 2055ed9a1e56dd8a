"""The network page's edge-of-stability panel under AppTest: the lesson from its link, its claim
box, the sharpness figure with each rule's threshold (none for Adam), and the panel off."""

import base64

import numpy as np
import pytest
from helpers import ONE_MB, assert_finite_json, run_page, shown

from lessons.network import LESSONS


def page(**query):
    return run_page("network", 600, **query)


def eos_figure(at) -> dict | None:
    return next((c.fig for c in shown(at) if c.key == "eos"), None)


def values(v) -> np.ndarray:
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(np.float64)
    return np.asarray(v, np.float64)


def test_the_lesson_link_shows_the_edge_of_stability_and_its_claim():
    at = page(**LESSONS["eos"].query())
    assert not at.exception
    got = [m.value for m in at.success] + [w.value for w in at.warning]
    assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], got
    fig = eos_figure(at)
    traces = {t.get("meta"): t for t in fig["data"] if t.get("meta")}
    assert values(traces["threshold:gd"]["y"]) == pytest.approx([2 / 0.15] * 2)
    s = values(traces["sharpness:gd"]["y"])
    assert len(s) == 200 and s[0] < 0.8 * 2 / 0.15 < s.max()
    assert all(len(c.spec) < ONE_MB for c in shown(at))
    assert_finite_json(fig)


def test_free_exploration_with_three_rules_draws_two_thresholds():
    at = page(preset="free", eos="1", eos_steps="500", opts="gd,momentum,adam", batch="m", epochs="10",
              loss="least_squares", **{"gd.lr": "0.15", "momentum.lr": "0.7", "momentum.beta": "0.5"})
    assert not at.exception
    metas = {t.get("meta") for t in eos_figure(at)["data"]}
    assert {"sharpness:gd", "sharpness:momentum", "sharpness:adam", "threshold:gd", "threshold:momentum"} <= metas
    assert "threshold:adam" not in metas
    th = next(t for t in eos_figure(at)["data"] if t.get("meta") == "threshold:momentum")
    assert values(th["y"])[0] == pytest.approx(3.0 / (0.7 * 0.5))  # (2 + 2β)/(α(1 − β))
    # the lesson's claim box under the panel, measured on these runs (not the lesson's own)
    assert any(LESSONS["eos"].claim in m.value for m in at.markdown)
    at = at.toggle(key="network:eos").set_value(False).run()
    assert eos_figure(at) is None and "eos" not in at.query_params
