"""The data page under Streamlit's AppTest: defaults, each model with several batch sizes, bad
input (no examples, a batch larger than the data set, malformed URLs), the URL as the whole
state, the lessons from the menu with their claim box, and a new draw."""

import json
from pathlib import Path

import pytest
from helpers import shown
from streamlit.testing.v1 import AppTest

from lessons.data import LESSONS

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "data.py")
SMALL = {"m": "100", "epochs": "2"}  # few shapes to compile: the tests share them


def page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def specs(at) -> list[dict]:
    return [json.loads(c.spec) for c in shown(at)]


def race_spec(at) -> dict:
    return next(s for s in specs(at) if s.get("frames"))


def table(at):
    return at.dataframe[0].value


def test_defaults():
    at = page()
    assert not at.exception and not at.error and not at.warning
    assert len(shown(at)) == 2  # the animation, the loss curves
    spec = race_spec(at)
    assert 10 < len(spec["frames"]) <= 121
    assert sum(len(c.spec) for c in shown(at)) < 1_000_000
    assert spec["layout"]["sliders"][0]["currentvalue"]["prefix"] == "epoch "
    df = table(at)
    assert list(df["run"]) == ["SGD (batch 1)", "mini-batch 32", "batch GD (all 200)"]
    assert list(df["updates"]) == [2000, 70, 10]
    assert (df["time (ms)"] > 0).all() and (df["updates per second"] > 0).all()
    assert at.radio(key="data:focus").value == "32"
    code = next(t for t in spec["data"] if t.get("name") == "code")
    assert "for t in range(7):" in "\n".join(code["text"])


@pytest.mark.parametrize("model", ["linear", "logistic"])
def test_each_model_with_several_batch_sizes(model):
    at = page(model=model, sizes="1,16,m", **SMALL)
    assert not at.exception and not at.error
    assert at.sidebar.radio(key="data:model").value == model
    df = table(at)
    assert list(df["examples per update"]) == [1, 16, 100]
    assert list(df["updates"]) == [200, 14, 2]
    spec = race_spec(at)
    assert spec["layout"]["xaxis2"]["title"]["text"] == ("x" if model == "linear" else "x₁")
    assert any("L(w" in m.value for m in at.latex)


def test_no_examples_is_a_clear_message_not_an_exception():
    at = page(m="0", **{"epochs": "2"})
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    assert "`m=0`" in texts and "outside [50, 5000]" in texts
    assert at.sidebar.select_slider(key="data:m").value == 200  # the default, and the page still works
    assert race_spec(at)


def test_a_batch_larger_than_m_is_batch_gd_with_a_message():
    at = page(m="50", sizes="1,64,128,m", epochs="2")
    assert not at.exception and not at.error
    note = " ".join(w.value for w in at.warning)
    assert "64 and 128" in note and "batch GD" in note and "m = 50" in note
    df = table(at)
    assert list(df["examples per update"]) == [1, 50]  # 64, 128 and m are one run: batch GD
    assert list(df["updates"]) == [100, 2]


def test_no_batch_size_is_an_invitation_not_an_error():
    at = page(sizes="", **SMALL)
    assert not at.exception and not at.error
    assert any("at least one batch size" in i.value for i in at.info)
    assert not shown(at)


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(model="cubic", m="lots", sizes="1,7", epochs="-3", opt="evil", noise="nan", seed="x",
              **{"gd.lr": "1e9"}, present="maybe")
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("model", "m", "sizes", "epochs", "opt", "noise", "seed", "gd.lr"):
        assert f"`{key}=" in texts, key
    assert at.sidebar.radio(key="data:model").value == "linear"
    assert race_spec(at)


def test_the_query_string_sets_the_whole_page_and_follows_the_widgets():
    at = page(model="logistic", m="100", noise="1.5", seed="3", sizes="16,m", epochs="2", opt="adam",
              **{"adam.lr": "0.05", "sched": "time", "sched.time.k": "0.1"}, decay_per="epoch", focus="m",
              logy="0", target="0.1")
    assert not at.exception and not at.warning
    sb = at.sidebar
    assert sb.radio(key="data:model").value == "logistic"
    assert sb.select_slider(key="data:m").value == 100 and sb.slider(key="data:noise").value == 1.5
    assert sb.number_input(key="data:seed").value == 3
    assert sb.multiselect(key="data:sizes").value == ["16", "m"]
    assert sb.select_slider(key="data:epochs").value == 2
    assert sb.selectbox(key="data:opt").value == "adam" and sb.select_slider(key="data:adam.lr").value == 0.05
    assert sb.selectbox(key="data:sched").value == "time" and sb.radio(key="data:decay_per").value == "epoch"
    assert at.radio(key="data:focus").value == "m" and at.checkbox(key="data:logy").value is False
    assert race_spec(at)["layout"]["sliders"][0]["steps"][-1]["label"] == "2.00"
    at = sb.select_slider(key="data:epochs").set_value(3).run()
    assert str(at.query_params["epochs"]) in ("3", "['3']")
    assert str(at.query_params["adam.lr"]) in ("0.05", "['0.05']")
    assert list(table(at)["updates"]) == [21, 3]


def test_every_lesson_from_the_menu_sets_the_page_and_its_claim_holds():
    at = page(preset="free", **SMALL)
    assert not at.exception and not at.success  # free exploration: no claim
    for key, lesson in LESSONS.items():
        at = at.sidebar.selectbox(key="data:preset").set_value(key).run()
        assert not at.exception, key
        v = lesson.settings
        assert at.sidebar.selectbox(key="data:opt").value == v["opt"], key
        assert at.sidebar.multiselect(key="data:sizes").value == v["sizes"], key
        assert at.sidebar.select_slider(key="data:m").value == v["m"], key
        assert any(lesson.claim in m.value for m in at.markdown), key
        verdicts = [m.value for m in at.success] + [w.value for w in at.warning]
        assert len(verdicts) == 1 and verdicts[0].startswith("✓") and "your changes" not in verdicts[0], verdicts
        shown = {k: str(v) for k, v in at.query_params.items()}.get("preset", "three")  # the default: unwritten
        assert shown in (key, f"['{key}']")
    # a change afterwards: the claim is measured again, on the changed runs, and the box says so
    at = at.sidebar.select_slider(key="data:epochs").set_value(1).run()
    verdicts = [m.value for m in at.success] + [w.value for w in at.warning]
    assert any("your changes" in v for v in verdicts)


def test_a_new_draw():
    at = page(**SMALL)
    draw = next(b for b in at.sidebar.button if b.label == "New draw")
    at = draw.click().run()
    assert not at.exception and at.sidebar.number_input(key="data:seed").value != 0
    assert "seed" in at.query_params


def test_divergence_is_reported():
    at = page(**{"gd.lr": "2"}, sizes="1,m", **SMALL)
    assert not at.exception
    assert any("diverged at update" in w.value and "lr too large for this curvature" in w.value for w in at.warning)
    assert table(at)["outcome"].str.contains("diverged").any()
