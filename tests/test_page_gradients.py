"""The vanishing/exploding gradients page under Streamlit's AppTest: the default preset, every
preset (from the URL and from the menu), a full configuration from the URL and back, the
activation × initialization grid, a malformed URL.

The presets are depth-20 networks: the first run of each activation compiles for a while (one
process shares the compilations, so the whole file costs a few minutes on 2 busy cores).  The
other tests use small networks."""

import json

import pytest
from helpers import run_page, shown
from streamlit.testing.v1 import AppTest

from lessons.gradients import LESSONS
from surfaces import network as N

SMALL = dict(preset="free", depth="4", width="8", epochs="5", m="200")


def page(**query) -> AppTest:
    return run_page("gradients", 900, **query)


def figures(at) -> dict:
    """The page's figures by their element key (scalar, acts, norms, train, history, grid_fig)."""
    out = {}
    for c in shown(at):
        spec = json.loads(c.spec)
        key = next((k for k in ("scalar", "acts", "norms", "train", "history", "grid_fig") if c.id.endswith(k)),
                   None)
        out[key] = spec
    return out


def params(at) -> dict:
    return {k: str(v) for k, v in at.query_params.items()}


def run_titles(fig) -> list[str]:
    return [a["text"] for a in fig["layout"]["annotations"]]


def test_defaults_open_on_the_vanishing_preset_and_its_verdict():
    at = page()
    assert not at.exception and not at.error and not at.warning
    assert at.sidebar.selectbox(key="gradients:preset").value == "vanishing"
    v = LESSONS["vanishing"].settings
    assert at.sidebar.selectbox(key="gradients:act").value == v["act"]
    assert at.sidebar.slider(key="gradients:depth").value == v["depth"]
    assert at.sidebar.select_slider(key="gradients:gd.lr").value == v["gd.lr"]
    ok = [m.value for m in at.success]
    assert len(ok) == 1 and ok[0].startswith("✓ The claim holds") and "first/last = " in ok[0]
    assert "claimed below 0.001" in ok[0]
    figs = figures(at)
    assert set(figs) == {"scalar", "acts", "norms", "train", "history"}
    train = figs["train"]
    assert 10 < len(train["frames"]) <= 100
    assert len(train["frames"][0]["traces"]) == 3 * 4  # four runs side by side, three moving traces each
    assert run_titles(train)[0].startswith("★ no remedy")
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 4
    for c in shown(at):
        assert len(c.spec) < 1_000_000
    assert params(at) == {}  # the defaults are the first preset: a bare URL


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_lesson_from_the_url(key):
    lesson = LESSONS[key]
    p = lesson.settings
    at = page(preset=key)
    assert not at.exception, at.exception
    assert not at.error
    sb = at.sidebar
    assert sb.selectbox(key="gradients:act").value == p["act"]
    assert sb.selectbox(key="gradients:init").value == p["init"]
    assert sb.toggle(key="gradients:bn").value == p["bn"] and sb.radio(key="gradients:clip").value == p["clip"]
    assert sb.slider(key="gradients:depth").value == p["depth"]
    assert sb.select_slider(key="gradients:width").value == p["width"]
    assert any(lesson.title in m.value and lesson.claim in m.value for m in at.markdown)
    assert [m.value[:1] for m in at.success] == ["✓"], [m.value for m in at.warning]
    assert not any("your changes" in m.value for m in at.success)
    train = figures(at)["train"]
    mine = [t for t in run_titles(train) if t.startswith("★")]
    assert len(mine) == 1
    assert ("batch norm" in mine[0]) == p["bn"] and ("clipping" in mine[0]) == (p["clip"] != "none")
    diverged = {w.value.split("**")[1] for w in at.warning if "diverged at update" in w.value}
    if key in ("exploding", "exploding_clipped"):
        # W = randn on ReLU overflows without a remedy; clipping keeps the steps bounded
        assert "no remedy" in diverged
        assert not any("clipping" in d and "batch norm" not in d for d in diverged)


def test_choosing_a_preset_in_the_menu_sets_the_page_and_the_url():
    at = page(**SMALL)
    assert not at.exception and not at.success  # free exploration: no claim
    at = at.sidebar.selectbox(key="gradients:preset").set_value("tanh_xavier").run()
    assert not at.exception
    p = LESSONS["tanh_xavier"].settings
    assert at.sidebar.selectbox(key="gradients:act").value == "tanh"
    assert at.sidebar.selectbox(key="gradients:init").value == "xavier"
    assert at.sidebar.slider(key="gradients:depth").value == p["depth"]
    assert at.sidebar.slider(key="gradients:epochs").value == p["epochs"]
    q = params(at)
    assert q["preset"] == "tanh_xavier" and q["act"] == "tanh" and q["init"] == "xavier"
    assert "depth" not in q  # 20, the default
    assert at.success[0].value.startswith("✓ The claim holds")
    # a change afterwards: the claim is measured on the changed network, and says so
    at = at.sidebar.selectbox(key="gradients:init").set_value("naive").run()
    verdict = (at.success or at.warning)[0].value
    assert "your changes" in verdict


def test_a_query_string_sets_the_whole_page_and_the_widgets_write_it_back():
    at = page(**SMALL, act="tanh", init="naive", sigma="2", bn="1", clip="value", clip_c="0.5", opt="adam",
              **{"adam.lr": "0.001", "adam.beta1": "0.8"}, batch="64", data="circles", seed="3", cmp="0")
    assert not at.exception and not at.warning and not at.error
    sb = at.sidebar
    assert sb.selectbox(key="gradients:act").value == "tanh" and sb.select_slider(key="gradients:sigma").value == 2.0
    assert sb.toggle(key="gradients:bn").value is True and sb.radio(key="gradients:clip").value == "value"
    assert sb.select_slider(key="gradients:clip_c").value == 0.5 and sb.selectbox(key="gradients:opt").value == "adam"
    assert sb.select_slider(key="gradients:adam.lr").value == 0.001
    assert sb.select_slider(key="gradients:adam.beta1").value == 0.8
    assert sb.select_slider(key="gradients:batch").value == 64 and sb.selectbox(key="gradients:data").value == "circles"
    assert sb.number_input(key="gradients:seed").value == 3
    train = figures(at)["train"]
    assert run_titles(train) == ["★ batch norm + clipping |g| ≤ 0.5"]  # only the page's own run
    assert len(train["frames"][0]["traces"]) == 3
    n_updates = 5 * 3  # 5 epochs of ⌈150 / 64⌉ mini-batches
    assert train["frames"][-1]["name"] == str(n_updates)
    at = sb.slider(key="gradients:epochs").set_value(8).run()  # same epoch bucket: no new training program
    assert figures(at)["train"]["frames"][-1]["name"] == str(8 * 3)
    assert params(at)["epochs"] == "8" and params(at)["adam.lr"] == "0.001"


def test_the_activation_initialization_grid():
    at = page(**SMALL, grid="1", act="tanh", init="xavier")
    assert not at.exception
    fig = figures(at)["grid_fig"]
    hm = fig["data"][0]
    assert hm["y"] == [a.label for a in N.ACTIVATIONS.values()] and hm["x"] == [i.label for i in N.INITS.values()]
    assert len(hm["z"]) == 5 and all(len(r) == 5 for r in hm["z"])
    rect = fig["layout"]["shapes"][0]
    assert (rect["y0"] + rect["y1"]) / 2 == list(N.ACTIVATIONS).index("tanh")
    assert (rect["x0"] + rect["x1"]) / 2 == list(N.INITS).index("xavier")


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(preset="nope", depth="999", width="abc", act="swish", clip_c="-1", bn="maybe", epochs="0",
              **{"gd.lr": "nan"})
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("preset", "depth", "width", "act", "clip_c", "bn", "epochs", "gd.lr"):
        assert f"`{key}=" in texts, key
    assert at.sidebar.selectbox(key="gradients:preset").value == "vanishing"
    assert at.sidebar.slider(key="gradients:depth").value == 20
    assert figures(at)["train"]
