"""Every lesson of every page, and every surface's caption, is run from its settings with the
engine (as its page runs it) and its claim is asserted; the checks say no when the claim fails;
the home page's path and the pages' menus read the same objects.  The pages' claim boxes are
tested under AppTest in tests/test_page_<page>.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lessons import MODULES, PATH, Lesson
from lessons import data as D
from lessons import gradients as G
from lessons import network as NL
from lessons import race as R
from lessons.core import encode
from optim import OPTIMIZERS, SCHEDULES
from optim.metrics import gd_stability_limit
from surfaces import SURFACES
from ui import nav
from ui.widgets import hparam_setting, optimizer_settings

ALL = [(page, key) for page, m in MODULES.items() for key in m.LESSONS]


def _measure(page: str, lesson: Lesson):
    return MODULES[page].measure(lesson)


# --- every claim holds ------------------------------------------------------------------------------


@pytest.mark.parametrize("page,key", ALL, ids=[f"{p}:{k}" for p, k in ALL])
def test_every_lesson_of_every_page_holds(page, key):
    lesson = MODULES[page].LESSONS[key]
    verdict = _measure(page, lesson)
    assert verdict.holds is True, f"{page}:{key}: {verdict.detail}"
    assert verdict.detail.strip()


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_every_surface_caption_holds_on_the_default_race(name):
    caption = R.CAPTIONS[name]
    assert caption.settings["opts"] == list(R.DEFAULT_OPTS) and caption.settings["steps"] == R.DEFAULT_STEPS
    assert (caption.settings["x0"], caption.settings["y0"]) == tuple(map(float, SURFACES[name].start))
    verdict = R.measure(caption)
    assert verdict.holds is True, f"{name}: {verdict.detail}"


def test_every_surface_has_a_caption():
    assert set(R.CAPTIONS) == set(SURFACES)
    assert all(c.claim.strip() and c.title == SURFACES[n].label for n, c in R.CAPTIONS.items())


# --- the path and the menus read the same objects -----------------------------------------------------


def test_the_path_is_made_of_the_pages_lessons():
    assert len(PATH) >= 7 and len({id(lesson) for lesson in PATH}) == len(PATH)
    paths = {p.url_path for p in nav.PAGES}
    for lesson in PATH:
        assert lesson.page in paths
        assert MODULES[lesson.page].LESSONS[lesson.key] is lesson, lesson.key
        assert lesson.title.strip() and lesson.text.strip() and lesson.claim.strip()


@pytest.mark.parametrize("page,key", ALL, ids=[f"{p}:{k}" for p, k in ALL])
def test_a_lesson_link_names_its_menu_entry_and_every_setting(page, key):
    lesson = MODULES[page].LESSONS[key]
    q = lesson.query()
    assert q["preset"] == key
    assert set(q) == {"preset", *lesson.settings}
    assert all(isinstance(v, str) for v in q.values())


@pytest.mark.parametrize("page,key", ALL, ids=[f"{p}:{k}" for p, k in ALL])
def test_lesson_hyperparameters_are_values_the_sliders_take(page, key):
    """A lesson writes its values into the page's widgets: each must be one the widget offers."""
    settings = {s.key: s for name in OPTIMIZERS for s in optimizer_settings(name)}
    settings.update({s.key: s for s in (hparam_setting(f"d.{n}", h) for n, sc in SCHEDULES.items()
                                        for h in sc.params)})
    for k, value in MODULES[page].LESSONS[key].settings.items():
        if k in settings:
            assert settings[k].parse(encode(value)) == pytest.approx(value), k


def test_encode_writes_what_a_setting_parses():
    assert encode(True) == "1" and encode(False) == "0"
    assert encode(["gd", "adam"]) == "gd,adam" and encode(0.1) == "0.1" and encode(300) == "300"


def test_changes_name_the_settings_that_differ_from_the_lesson():
    lesson = R.LESSONS["momentum"]
    defaults = {"noise": 0.0, "steps": 300, "opts": ["gd"]}
    same = {k: v for k, v in lesson.settings.items()} | {"noise": 0.0}
    assert lesson.changes(same, defaults) == []
    assert lesson.changes(same | {"gd.lr": 0.07, "noise": 1.0}, defaults) == ["gd.lr", "noise"]
    assert lesson.changes(same | {"opts": ("gd", "momentum", "nesterov")}, defaults) == []


# --- the race lessons state what their runs show ----------------------------------------------------


def test_the_momentum_lesson_puts_gd_at_its_stability_limit():
    v = R.LESSONS["momentum"].settings
    bowl = SURFACES[v["surface"]]
    assert v["gd.lr"] == pytest.approx(gd_stability_limit(bowl.f, bowl.minima[0]), rel=1e-6)
    assert v["momentum.lr"] == v["nesterov.lr"] == v["gd.lr"]  # the same α: only the averaging differs


def test_zigzag_counts_what_gd_at_the_stability_limit_does_by_formula():
    """At α = 2/λ each GD step maps y to (1 − αλ) y = −y: n steps, n − 1 reversals, 2|y₀| per step."""
    bowl = SURFACES["bowl"]
    steep, flat, lam = R.principal_axes(bowl)
    assert abs(steep @ [0.0, 1.0]) == pytest.approx(1.0) and lam == pytest.approx(20.0, rel=1e-5)
    n = 40
    rec = R.run_lesson(dataclasses.replace(R.LESSONS["momentum"], settings={**R.LESSONS["momentum"].settings,
                                                                             "opts": ["gd"], "steps": n}))["gd"]
    flips, steps, travel = R.zigzag(rec, steep)
    y0 = abs(R.LESSONS["momentum"].settings["y0"])
    assert (flips, steps) == (n - 1, n - 1)
    assert travel == pytest.approx(2 * y0 * n, rel=1e-5)


def _with(lesson: Lesson, **settings) -> Lesson:
    return dataclasses.replace(lesson, settings={**lesson.settings, **settings})


@pytest.mark.parametrize("lesson,change", [
    (R.LESSONS["momentum"], {"gd.lr": 0.07}),  # GD below its limit: its zig-zag dies and it converges
    (R.LESSONS["plateau"], {"adam.lr": 0.01}),  # Adam at 0.01 does not cross in 300 steps
    (R.LESSONS["adam_family"], {"adamax.lr": 0.1}),  # Adamax at 0.1 is no longer far behind
    (R.CAPTIONS["bowl"], {"steps": 30}),  # after 30 steps y has not settled yet
    (R.CAPTIONS["booth"], {"steps": 100}),  # GD and momentum need ~150 steps
], ids=["momentum", "plateau", "adam_family", "bowl-caption", "booth-caption"])
def test_race_checks_say_no_when_the_runs_do_not_bear_the_claim_out(lesson, change):
    assert R.measure(_with(lesson, **change)).holds is False


def test_checks_say_what_is_missing():
    lesson = R.LESSONS["momentum"]
    runs = R.run_lesson(_with(lesson, opts=["momentum"], steps=20))
    v = lesson.verdict(runs, SURFACES["bowl"])
    assert v.holds is None and "Gradient descent" in v.detail
    v = R.CAPTIONS["bowl"].verdict(runs, SURFACES["bowl"])
    assert v.holds is None and "default race" in v.detail


# --- the other pages' checks refuse too --------------------------------------------------------------


def test_gradient_claims_refuse_out_of_range_norms():
    assert G.check_init([1e-9, 1.0], ratio_range=(0.0, 1e-3)).holds is True
    assert G.check_init([1e-2, 1.0], ratio_range=(0.0, 1e-3)).holds is False
    assert G.check_init([2e6, 5e5], norm_range=(1e6, np.inf)).holds is False
    assert G.measure(_with(G.LESSONS["vanishing"], act="tanh", init="xavier", sigma=1.0)).holds is False


def test_claim_text():
    t = G.claim_text((0.0, 1e-3), (0.0, np.inf), 3.2e-7, [1e-7, 1.0])
    assert t == "first/last = 3.2e-07 (claimed below 0.001)"
    t = G.claim_text((0.0, np.inf), (1e6, np.inf), 1.0, [2e6, 3e9])
    assert t == "layer norms 2.0e+06 to 3.0e+09 (claimed above 1e+06)"
    assert "between 0.1 and 10" in G.claim_text((0.1, 10.0), (0.0, np.inf), 1.0, [1.0])


def test_data_claims_refuse():
    # batch GD at 4× the rate is no longer slow: it ends below 5 % of its gap
    v = D.measure(_with(D.LESSONS["three"], **{"gd.lr": 0.2}))
    assert v.holds is False and "batch GD" in v.detail
    v = D.measure(_with(D.LESSONS["three"], **{"gd.lr": 1.0}))  # SGD blows up
    assert v.holds is False and "diverged" in v.detail
    assert D.LESSONS["three"].verdict({}, 0.0).holds is None


def _rec(train, test, acc=0.9):
    return {"train_loss": np.array([1.0, train]), "test_loss": np.array([1.0, test]),
            "train_acc": np.array([0.5, acc]), "test_acc": np.array([0.5, acc])}


def test_network_checks_refuse():
    assert NL.overfitting_verdict(_rec(0.01, 0.9), _rec(0.1, 0.3)).holds is True
    v = NL.overfitting_verdict(_rec(0.1, 0.3), _rec(0.01, 0.9))
    assert v.holds is False and "0.3 → 0.9" in v.detail
    assert NL.check_l2({"adam": _rec(0.1, 0.3)}).holds is None
    same = {n: _rec(0.2, 0.25, 0.9) for n in ("gd", "momentum", "rmsprop", "adam")}
    assert NL.check_fit(same).holds is False  # nobody fits: the adaptive methods are not ahead
