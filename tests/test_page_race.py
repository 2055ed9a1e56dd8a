"""The race page under Streamlit's AppTest: defaults, every surface, formulas good and bad,
a full configuration from the URL, a malformed URL, step-through, the lessons from the menu and
every surface's caption with their claim boxes, the diagnosis of a divergence."""

import json

import pytest
from helpers import run_page, shown
from streamlit.testing.v1 import AppTest

from lessons.race import CAPTIONS, LESSONS
from surfaces import SURFACES


def page(**query) -> AppTest:
    return run_page("race", 180, **query)


def charts(at) -> dict:
    return {c.id: json.loads(c.spec) for c in shown(at)}


def race_spec(at) -> dict:
    specs = [json.loads(c.spec) for c in shown(at)]
    return next(s for s in specs if s.get("frames"))


def test_defaults():
    at = page()
    assert not at.exception and not at.error
    spec = race_spec(at)
    assert len(spec["frames"]) > 10
    assert len(shown(at)) >= 2  # race + loss
    assert at.sidebar.multiselect[0].value == ["gd", "momentum", "rmsprop", "adam"]
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 4


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_every_surface(name):
    at = page(surface=name, opts="gd,adam", steps="60")
    assert not at.exception, at.exception
    assert not at.error
    assert at.sidebar.selectbox(key="race:surface").value == name
    assert race_spec(at)["layout"]["xaxis"]["range"] == list(SURFACES[name].domain[0])


def test_custom_formula():
    at = page(surface="custom", formula="x**2 + 3*y**2 - cos(x*y)", xmin="-2", xmax="2", ymin="-1", ymax="1",
              opts="adam", steps="50")
    assert not at.exception and not at.error
    assert race_spec(at)["layout"]["yaxis"]["range"] == [-1.0, 1.0]
    assert any("cos" in m.value for m in at.latex)


@pytest.mark.parametrize("formula", ["__import__('os').system('echo hi')", "x +* y", "foo(x)", "x.real"])
def test_bad_formula_is_an_error_message_not_an_exception(formula):
    at = page(surface="custom", formula=formula)
    assert not at.exception
    assert at.error and "refused" in at.error[0].value
    assert not shown(at)


def test_a_query_string_sets_the_whole_race():
    at = page(surface="himmelblau", opts="adam,nesterov", **{"adam.lr": "0.05", "nesterov.beta": "0.95"},
              steps="123", x0="1", y0="-1", sched="step", **{"sched.step.gamma": "0.3"}, noise="0.5", seed="7")
    assert not at.exception and not at.warning
    sb = at.sidebar
    assert sb.selectbox(key="race:surface").value == "himmelblau"
    assert sb.multiselect(key="race:opts").value == ["adam", "nesterov"]
    assert sb.select_slider(key="race:adam.lr").value == 0.05
    assert sb.select_slider(key="race:nesterov.beta").value == 0.95
    assert sb.slider(key="race:steps").value == 123
    assert sb.number_input(key="race:x0").value == 1.0 and sb.number_input(key="race:y0").value == -1.0
    assert sb.selectbox(key="race:sched").value == "step"
    assert sb.slider(key="race:sched.step.gamma").value == pytest.approx(0.3)
    assert sb.number_input(key="race:noise").value == 0.5 and sb.number_input(key="race:seed").value == 7
    spec = race_spec(at)
    assert spec["frames"][-1]["name"] == "123"
    # the page writes its settings back: the URL follows the widgets
    at = sb.slider(key="race:steps").set_value(200).run()
    assert str(at.query_params["steps"]) in ("200", "['200']")
    assert str(at.query_params["adam.lr"]) in ("0.05", "['0.05']")


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(surface="nowhere", steps="many", opts="adam,evil", **{"adam.lr": "-5", "gd.lr": "nan"},
              x0="1e400", present="maybe")
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("surface", "steps", "opts", "adam.lr", "gd.lr", "x0"):
        assert f"`{key}=" in texts, key
    assert at.sidebar.selectbox(key="race:surface").value == "bowl"
    assert at.sidebar.slider(key="race:steps").value == 300
    assert race_spec(at)


def test_step_through_shows_the_equations_with_numbers():
    at = page(opts="adam", steps="20", walk="1", walk_opt="adam")
    assert not at.exception
    latex = [m.value for m in at.latex]
    assert any(r"\hat v" in t and "begin{pmatrix}" in t for t in latex)
    assert any("Update 0 → 1" in m.value for m in at.markdown)
    step = next(b for b in at.button if b.label.startswith("Step"))
    at = step.click().run()
    assert any("Update 1 → 2" in m.value for m in at.markdown)
    back = next(b for b in at.button if b.label.startswith("◀"))
    at = back.click().run()
    assert any("Update 0 → 1" in m.value for m in at.markdown)


def test_divergence_is_reported_on_the_page():
    at = page(surface="rosenbrock", opts="gd", **{"gd.lr": "0.5"}, steps="50")
    assert not at.exception
    assert any("diverged at step" in w.value and "lr too large for this curvature" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert "diverged at step" in table["outcome"][0]


def verdicts(at) -> list[str]:
    return [m.value for m in at.success] + [w.value for w in at.warning if w.value[:1] in "✓✗"] + \
        [i.value for i in at.info]


def test_defaults_show_the_bowl_caption_holding():
    at = page()
    assert any(CAPTIONS["bowl"].claim in m.value for m in at.markdown)
    v = verdicts(at)
    assert len(v) == 1 and v[0].startswith("✓") and "your changes" not in v[0], v


def test_every_lesson_from_the_menu_sets_the_race_and_its_claim_holds():
    at = page(steps="50", opts="adam")
    for key, lesson in LESSONS.items():
        at = at.sidebar.selectbox(key="race:preset").set_value(key).run()
        assert not at.exception, key
        sb, v = at.sidebar, lesson.settings
        assert sb.selectbox(key="race:surface").value == v["surface"], key
        assert sb.multiselect(key="race:opts").value == v["opts"], key
        assert sb.slider(key="race:steps").value == v["steps"], key
        assert (sb.number_input(key="race:x0").value, sb.number_input(key="race:y0").value) == (v["x0"], v["y0"])
        for name in v["opts"]:
            assert sb.select_slider(key=f"race:{name}.lr").value == v[f"{name}.lr"], (key, name)
        assert any(lesson.title in m.value and lesson.claim in m.value for m in at.markdown), key
        got = verdicts(at)
        assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], (key, got)
        assert str(at.query_params["preset"]) in (key, f"['{key}']")
    # a change after the lesson: measured again, on the new runs, and the box says so
    at = at.sidebar.selectbox(key="race:preset").set_value("adam_family").run()
    at = at.sidebar.select_slider(key="race:momentum.lr").set_value(0.0001).run()
    got = verdicts(at)
    assert len(got) == 1 and got[0].startswith("✗") and "your changes" in got[0], got


def test_every_surface_caption_holds_on_its_default_race():
    """Free exploration, the default optimizers and steps: choosing a surface moves the start to its
    own, and the caption's claim box says ✓."""
    at = page()
    for name in SURFACES:
        at = at.sidebar.selectbox(key="race:surface").set_value(name).run()
        assert not at.exception, name
        assert any(CAPTIONS[name].claim in m.value for m in at.markdown), name
        got = verdicts(at)
        assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], (name, got)


def test_a_caption_needs_the_default_race():
    at = page(surface="plateau", opts="adam")
    got = verdicts(at)
    assert len(got) == 1 and "default race" in got[0] and "Gradient descent" in got[0], got


def test_the_monkey_saddle_diverges_for_want_of_a_minimum():
    at = page(surface="monkey_saddle", opts="gd")
    texts = [w.value for w in at.warning if w.value.startswith("**")]
    assert texts and "no minimum in that direction" in texts[0] and "lr too large" not in texts[0]
    assert "no minimum in that direction" in at.dataframe[0].value["outcome"][0]


def test_a_formula_not_finite_at_its_start_says_so():
    at = page(surface="custom", formula="exp(exp(exp(x)))", opts="gd", steps="20")
    assert not at.exception and not at.error
    texts = [w.value for w in at.warning if w.value.startswith("**")]
    assert texts and "not finite at the start" in texts[0] and "lr too large" not in texts[0]
