"""The learning-rate decay page under Streamlit's AppTest: the default lesson, every preset
(from the URL and from the lesson menu), a full configuration from the URL, a malformed URL."""

import json

import numpy as np
import pytest
from helpers import run_page, shown
from streamlit.testing.v1 import AppTest

from lessons.decay import LESSONS, schedule_params
from optim.schedules import SCHEDULES


def page(**query) -> AppTest:
    return run_page("decay", 300, **query)


def specs(at) -> dict:
    """The page's figures by their role: alpha (α_t), race (animated), loss."""
    out = {}
    for c in shown(at):
        spec = json.loads(c.spec)
        role = "race" if spec.get("frames") else ("loss" if "yaxis2" in spec["layout"] else "alpha")
        out[role] = spec
    return out


def _decode(arr):
    if isinstance(arr, dict):
        import base64
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"]))
    return np.asarray(arr)


def test_defaults_show_the_first_lesson_and_its_verdict():
    at = page()
    assert not at.exception and not at.error and not at.warning
    first = LESSONS["oscillates"]
    assert at.sidebar.selectbox(key="decay:preset").value == "oscillates"
    assert at.sidebar.multiselect(key="decay:scheds").value == first.settings["scheds"]
    assert at.sidebar.select_slider(key="decay:gd.lr").value == first.settings["gd.lr"]
    assert any(m.value.startswith("✓") for m in at.success)
    figs = specs(at)
    assert set(figs) == {"alpha", "race", "loss"}
    assert [t["name"] for t in figs["alpha"]["data"]] == [SCHEDULES[n].label for n in first.settings["scheds"]]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == len(first.settings["scheds"])
    assert {m.value.strip("$\n") for m in at.latex} >= {SCHEDULES[n].latex for n in first.settings["scheds"]}
    # the defaults are the first lesson: a bare URL
    assert dict(at.query_params) == {}
    for c in shown(at):
        assert len(c.spec) < 1_000_000


@pytest.mark.parametrize("key", list(LESSONS))
def test_each_preset_from_the_url_sets_the_page_and_its_claim_holds(key):
    lesson = LESSONS[key]
    v = lesson.settings
    at = page(preset=key)
    assert not at.exception and not at.error
    sb = at.sidebar
    assert sb.multiselect(key="decay:scheds").value == v["scheds"]
    assert sb.slider(key="decay:steps").value == v["steps"]
    assert sb.number_input(key="decay:noise").value == v["noise"]
    assert sb.select_slider(key="decay:gd.lr").value == v["gd.lr"]
    assert (sb.number_input(key="decay:x0").value, sb.number_input(key="decay:y0").value) == (v["x0"], v["y0"])
    for name in v["scheds"]:
        for pname, value in schedule_params(v, name).items():
            widget = at.sidebar.get("select_slider") + at.sidebar.get("slider")
            got = next(w for w in widget if w.key == f"decay:d.{name}.{pname}")
            assert got.value == pytest.approx(value), (name, pname)
    assert any(lesson.title in m.value for m in at.markdown)
    verdicts = [m.value for m in at.success] + [w.value for w in at.warning if w.value[:1] in "✓✗"]
    assert len(verdicts) == 1 and verdicts[0].startswith("✓"), verdicts
    table = at.dataframe[0].value
    assert list(table["schedule"]) == [SCHEDULES[n].label for n in v["scheds"]]
    if key == "too_large":
        assert table["diverged at"][0] > 0 and table["diverged at"][1:].isna().all()
        assert "diverged at step" in json.dumps(specs(at)["race"]["data"])
        assert "lr too large for this curvature" in json.dumps(specs(at)["race"]["data"])
        diverged = [w.value for w in at.warning if w.value.startswith("**")]
        assert len(diverged) == 1 and "lr too large for this curvature" in diverged[0]


def test_choosing_a_lesson_in_the_menu_sets_everything_and_the_url_follows():
    at = page()
    at = at.sidebar.selectbox(key="decay:preset").set_value("too_large").run()
    assert not at.exception
    v = LESSONS["too_large"].settings
    assert at.sidebar.select_slider(key="decay:gd.lr").value == v["gd.lr"]
    assert at.sidebar.multiselect(key="decay:scheds").value == v["scheds"]
    assert at.sidebar.number_input(key="decay:y0").value == v["y0"]
    qp = {k: str(v) for k, v in at.query_params.items()}
    assert qp["preset"] in ("too_large", "['too_large']")
    assert "0.15" in qp["gd.lr"] and "exponential" in qp["scheds"]
    # a change after the lesson: the claim is measured again on the new runs
    at = at.sidebar.select_slider(key="decay:gd.lr").set_value(0.05).run()
    assert any(w.value.startswith("✗") and "your changes" in w.value for w in at.warning)


def test_a_query_string_sets_a_free_configuration():
    at = page(preset="free", scheds="cosine,warmup_cosine", **{"d.cosine.total": "300", "d.cosine.final": "0.1"},
              opt="adam", **{"adam.lr": "0.05"}, surface="rosenbrock", steps="200", noise="0.5", seed="3",
              loglr="1", smooth="0")
    assert not at.exception and not at.error and not at.warning
    sb = at.sidebar
    assert sb.multiselect(key="decay:scheds").value == ["cosine", "warmup_cosine"]
    assert sb.slider(key="decay:d.cosine.total").value == 300
    assert sb.select_slider(key="decay:adam.lr").value == 0.05
    assert sb.selectbox(key="decay:surface").value == "rosenbrock"
    assert sb.number_input(key="decay:seed").value == 3
    assert not at.success  # no lesson, no verdict
    alpha = specs(at)["alpha"]
    assert alpha["layout"]["yaxis"]["type"] == "log"
    t, y = _decode(alpha["data"][0]["x"]), _decode(alpha["data"][0]["y"]).astype(np.float64)
    expected = 0.05 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * np.minimum(t, 300) / 300)))
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    assert len(t) == 201
    assert not at.toggle(key="decay:smooth").value
    assert specs(at)["race"]["frames"][-1]["name"] == "200"
    at = sb.slider(key="decay:steps").set_value(150).run()
    assert str(at.query_params["steps"]) in ("150", "['150']")


def test_every_schedule_at_once_on_a_surface_without_a_minimum():
    at = page(preset="free", scheds=",".join(SCHEDULES), surface="saddle", opt="momentum", steps="80",
              present="1")
    assert not at.exception and not at.error
    figs = specs(at)
    assert [t["name"] for t in figs["alpha"]["data"]] == [s.label for s in SCHEDULES.values()]
    assert not figs["alpha"]["layout"].get("shapes")  # GD's stability limit only for GD on a minimum
    assert len(at.dataframe[0].value) == len(SCHEDULES)
    assert len(at.latex) == len(SCHEDULES)


def test_no_schedule_chosen_says_so():
    at = page(preset="free", scheds="")
    assert not at.exception
    assert any("at least one schedule" in i.value for i in at.info)
    assert not shown(at)


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(preset="bogus", scheds="constant,evil", steps="many", **{"d.time.k": "-1", "gd.lr": "nan"},
              noise="-3", x0="1e400", opt="sgd9", present="maybe")
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("preset", "scheds", "steps", "d.time.k", "gd.lr", "noise", "x0", "opt"):
        assert f"`{key}=" in texts, key
    first = LESSONS["oscillates"]
    assert at.sidebar.selectbox(key="decay:preset").value == "oscillates"
    assert at.sidebar.multiselect(key="decay:scheds").value == first.settings["scheds"]
    assert at.sidebar.slider(key="decay:steps").value == first.settings["steps"]
    assert set(specs(at)) == {"alpha", "race", "loss"}
