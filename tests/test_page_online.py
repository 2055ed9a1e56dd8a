"""The online page ("Where Adam fails") under AppTest: the defaults (the lesson, its claim box ✓,
the animated figure of the iterates and the average regret), the lesson from the menu, a query
string that sets the page, a change that breaks the claim, a malformed query string."""

import json

import numpy as np
import pytest
from helpers import ONE_MB, assert_finite_json, run_page, shown

from lessons import online as L


def page(**query):
    return run_page("online", 180, **query)


def verdicts(at) -> list[str]:
    return [m.value for m in at.success] + [w.value for w in at.warning if w.value[:1] in "✓✗"] + \
        [i.value for i in at.info if "claim compares" in i.value.lower()]


def figures(at) -> dict:
    return {c.key: json.loads(c.spec) for c in shown(at)}


def test_defaults_are_the_lesson_and_its_claim_holds():
    at = page()
    assert not at.exception and not at.error
    lesson = L.LESSONS["adam_fails"]
    assert any(lesson.title in m.value and lesson.claim in m.value for m in at.markdown)
    got = verdicts(at)
    assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], got
    figs = figures(at)
    assert set(figs) == {"online", "steps"}
    main = figs["online"]
    assert len(main["frames"]) == 120 and main["frames"][-1]["name"] == "3001"
    assert len(json.dumps(main)) < ONE_MB
    assert_finite_json(main)
    names = [t.get("name") for t in main["data"]]
    assert "Adam (β₂ = 0.1)" in names and "AMSGrad (β₂ = 0.1)" in names and "Adam, large β₂ = 0.999" in names
    # the numbers of the table and of the claim box are the runs the engine makes from the lesson
    runs = L.run_lesson(lesson)
    table = at.dataframe[0].value
    np.testing.assert_allclose(table["final x"], [runs[n]["x"][-1] for n in L.RUNS], atol=1e-6)
    assert f"Adam {runs['adam']['x'][-1]:+.3f}" in got[0]
    assert dict(at.query_params) == {}  # the defaults: a bare address
    why = next(m.value for m in at.markdown if m.value.startswith("- **"))
    assert "**Adam (β₂ = 0.1)**" in why and "up, away from x* = −1" in why.split("\n")[0]
    assert all("down, towards" in line for line in why.split("\n")[1:])


def test_the_lesson_menu_sets_the_page_again():
    at = page(C="5", runs="adam,gd", steps="300")
    assert at.sidebar.select_slider(key="online:C").value == 5.0
    at = at.sidebar.selectbox(key="online:preset").set_value("free").run()
    assert not at.exception and not verdicts(at)
    at = at.sidebar.selectbox(key="online:preset").set_value("adam_fails").run()
    assert not at.exception
    v = L.LESSONS["adam_fails"].settings
    assert at.sidebar.select_slider(key="online:C").value == v["C"]
    assert at.sidebar.multiselect(key="online:runs").value == v["runs"]
    assert at.sidebar.slider(key="online:steps").value == v["steps"]
    got = verdicts(at)
    assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], got


def test_a_query_string_sets_the_page():
    at = page(C="4", paper="0", beta2="0.2", runs="adam,gd,lion", steps="600", lr="0.05", x0="0.5", beta1="0.5")
    assert not at.exception and not at.warning
    sb = at.sidebar
    assert sb.select_slider(key="online:C").value == 4.0
    assert sb.select_slider(key="online:beta2").value == 0.2
    assert sb.select_slider(key="online:lr").value == 0.05
    assert sb.slider(key="online:steps").value == 600 and sb.slider(key="online:x0").value == 0.5
    main = figures(at)["online"]
    assert main["frames"][-1]["name"] == "601"
    assert [t["name"] for t in main["data"] if t.get("showlegend") is not False][:3] == [
        "Adam (β₂ = 0.2)", "Online gradient descent", "Lion (β₁ = 0.5)"]
    # the claim box says what the lesson compares and what is missing
    info = [i.value for i in at.info]
    assert any("AMSGrad" in t and "add" in t for t in info), info


def test_a_change_that_breaks_the_claim_is_measured_and_said():
    at = page(paper="0", beta2="0.999")  # Adam with a large β₂ everywhere: it no longer fails
    assert not at.exception
    got = verdicts(at)
    assert len(got) == 1 and got[0].startswith("✗") and "your changes" in got[0], got


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(C="2", steps="many", runs="adam,evil", lr="-1", x0="5", paper="maybe", beta2_large="nan")
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("C", "steps", "runs", "lr", "x0", "paper", "beta2_large"):
        assert f"`{key}=" in texts, key
    assert at.sidebar.select_slider(key="online:C").value == 3.0
    got = verdicts(at)
    assert len(got) == 1 and got[0].startswith("✓"), got


@pytest.mark.parametrize("runs", ["amsgrad", "rmsprop,adamax,radam,adagrad"])
def test_every_variant_runs(runs):
    at = page(runs=runs, steps="300")
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) == len(runs.split(","))
