"""The network page under Streamlit's AppTest: defaults, the overfitting preset (chosen in the
sidebar and from a bare share link), a multi-class set with a two-class loss, a full
configuration from the URL, a malformed URL.  Training is cached by configuration, so the runs
made by one test are reused by the next ones."""

import base64
import json

import numpy as np
import pytest
from helpers import ONE_MB, assert_finite_json, run_page, shown
from streamlit.testing.v1 import AppTest

from lessons.network import LESSONS
from ui.muon_panel import OWN_SCHEDULE_NOTE


def page(**query) -> AppTest:
    return run_page("network", 600, **query)


def charts(at) -> dict[str, dict]:
    """Each figure by the key it was plotted with."""
    return {c.id.split("-", 2)[2]: json.loads(c.spec) for c in shown(at)}


def assert_small(at):
    """Every figure under 1 MB; no NaN but the gaps between the boundary's row runs."""
    for c in shown(at):
        assert len(c.spec) < ONE_MB, c.id
        if "boundaries" not in c.id:
            assert_finite_json(c.spec)


def test_defaults():
    at = page()
    assert not at.exception and not at.error and not at.warning
    figs = charts(at)
    assert {"margin", "curves", "boundaries"} <= set(figs)
    assert len(figs["boundaries"]["frames"]) == 21  # epochs 0, 5, …, 100
    assert at.sidebar.multiselect(key="network:opts").value == ["gd", "momentum", "rmsprop", "adam"]
    table = at.dataframe[0].value
    assert list(table["run"]) == ["Gradient descent", "Momentum", "RMSprop", "Adam"]
    assert (table["test acc"] > 0.8).all() and (table["training (s)"] > 0).all()
    assert table.set_index("run").loc["Adam", "test acc"] >= 0.95
    assert "sam_sharpness" not in figs and "λ_max at the end" not in table.columns  # no SAM: nothing measured
    assert any(r"\log" in m.value for m in at.latex)  # the loss's formula
    assert_small(at)
    assert dict(at.query_params) == {}  # defaults: a bare URL


def test_overfitting_preset_from_the_sidebar():
    at = page()
    at = at.sidebar.selectbox(key="network:preset").set_value("overfitting").run()
    assert not at.exception and not at.error
    sb = at.sidebar
    assert sb.select_slider(key="network:m").value == 80 and sb.select_slider(key="network:width").value == 64
    assert sb.select_slider(key="network:lam").value == 0.01 and sb.multiselect(key="network:opts").value == ["adam"]
    assert sb.toggle(key="network:compare").value is True
    assert any("The claim holds" in s.value for s in at.success)
    figs = charts(at)
    assert {"lesson-curves", "lesson-boundaries"} <= set(figs)
    names = [t["name"] for t in figs["lesson-curves"]["data"] if t.get("showlegend", True)]
    assert names[:2] == ["Adam, λ = 0", "Adam, λ = 0.01"]
    assert_small(at)
    assert str(at.query_params["preset"]) in ("overfitting", "['overfitting']")
    assert str(at.query_params["lam"]) in ("0.01", "['0.01']")


def test_every_lesson_from_the_menu_shows_its_claim_holding():
    at = page(preset="free", epochs="10")
    assert not at.exception and not at.success  # free exploration: no claim
    for key, lesson in LESSONS.items():
        at = at.sidebar.selectbox(key="network:preset").set_value(key).run()
        assert not at.exception, key
        assert at.sidebar.multiselect(key="network:opts").value == lesson.settings["opts"], key
        assert at.sidebar.select_slider(key="network:epochs").value == lesson.settings["epochs"], key
        assert any(lesson.claim in m.value for m in at.markdown), key
        got = [m.value for m in at.success] + [w.value for w in at.warning]
        assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], (key, got)


def test_a_bare_preset_link_fills_the_preset():
    at = page(preset="overfitting")
    assert not at.exception and not at.warning
    assert at.sidebar.select_slider(key="network:epochs").value == 300
    assert at.sidebar.slider(key="network:depth").value == 3
    assert any("The claim holds" in s.value for s in at.success)


def test_multiclass_set_with_a_two_class_loss_uses_softmax():
    at = page(data="blobs", classes="3", loss="hinge", opts="adam", epochs="20", m="200")
    assert not at.exception and not at.error
    assert any("K-class cross entropy" in i.value for i in at.info)
    spec = charts(at)["boundaries"]
    regions = [t for t in spec["data"] if t["name"].startswith("class ")]
    assert len(regions) == 2  # classes 1 and 2 over class 0's background: three classes on the grid
    assert at.dataframe[0].value["test acc"][0] > 0.8


def test_a_query_string_sets_the_page_and_the_url_follows():
    at = page(opts="adam,gd", **{"adam.lr": "0.05"}, lam="0.001", epochs="20", seed="3", noise="0.2")
    assert not at.exception and not at.warning
    sb = at.sidebar
    assert sb.multiselect(key="network:opts").value == ["adam", "gd"]
    assert sb.select_slider(key="network:adam.lr").value == 0.05 and sb.select_slider(key="network:lam").value == 0.001
    assert sb.number_input(key="network:seed").value == 3 and sb.slider(key="network:noise").value == pytest.approx(0.2)
    assert len(charts(at)["boundaries"]["frames"]) == 21
    at = sb.select_slider(key="network:epochs").set_value(30).run()
    assert str(at.query_params["epochs"]) in ("30", "['30']")
    assert str(at.query_params["adam.lr"]) in ("0.05", "['0.05']")


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(data="swirl", m="lots", opts="adam,evil", lam="-1", **{"adam.lr": "nan"}, preset="best", depth="99")
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("data", "m", "opts", "lam", "adam.lr", "preset", "depth"):
        assert f"`{key}=" in texts, key
    assert at.sidebar.selectbox(key="network:data").value == "moons"
    assert charts(at)["boundaries"]["frames"]


def _y(trace) -> np.ndarray:
    y = trace["y"]
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).astype(np.float64)
    return np.asarray(y, np.float64)


def test_muon_shows_the_singular_values_of_a_hidden_layers_last_update():
    at = page(opts="muon,adamw", epochs="20")
    assert not at.exception and not at.error
    fig = charts(at)["update_sv"]
    assert [t["name"] for t in fig["data"]] == ["Muon", "AdamW"]
    muon, adamw = (_y(t) for t in fig["data"])
    assert len(muon) == len(adamw) == 16  # the 16 × 16 weights from hidden layer 1 to hidden layer 2
    assert muon[0] == adamw[0] == 1.0 and np.all(np.diff(muon) <= 1e-6)
    assert any("hidden layer 1 to hidden layer 2" in c.value for c in at.caption)
    assert_small(at)
    assert "update_sv" not in charts(page(opts="adamw", epochs="20"))  # no Muon, no panel
    at = page(opts="muon", depth="1", epochs="20")
    assert not at.exception and any("two hidden layers" in i.value for i in at.info)


def test_sam_shows_the_sharpness_where_each_run_ends():
    """The flat-minima lesson: the panel's bars, the table's column and the claim box read one number
    per run, λ_max at its final weights."""
    at = page(preset="flat_network")
    assert not at.exception and not at.error and not at.warning
    bars = charts(at)["sam_sharpness"]["data"][0]
    assert bars["x"] == ["Gradient descent", "SAM"]
    lam = _y(bars)
    assert lam[0] >= 2 * lam[1] > 0
    table = at.dataframe[0].value.set_index("run")
    np.testing.assert_allclose(table.loc[bars["x"], "λ_max at the end"], lam, rtol=1e-6)
    claims = [m.value for m in at.success]
    assert len(claims) == 1 and all(f"{v:.3g}" in claims[0] for v in lam), claims
    assert any("power iteration" in c.value for c in at.caption)
    assert_small(at)


def test_schedule_free_says_it_ignores_the_pages_schedule():
    at = page(opts="adamw,schedule_free", sched="cosine", epochs="10")
    assert not at.exception
    assert any(c.value == OWN_SCHEDULE_NOTE for c in at.sidebar.caption)
    at = page(opts="adamw", sched="cosine", epochs="10")
    assert not any(c.value == OWN_SCHEDULE_NOTE for c in at.sidebar.caption)
