"""The home page's lessons: each opens a configuration that its page accepts, and the race
lessons show what their text claims."""

import numpy as np
import pytest

from optim import run
from surfaces import SURFACES
from ui import nav
from ui.state import Setting
from ui.widgets import optimizer_settings

RACE = [lesson for lesson in nav.LESSONS if lesson.page == "app_pages/race.py"]


def _runs(lesson):
    q = lesson.query
    s = SURFACES[q["surface"]]
    out = {}
    for name in q["opts"].split(","):
        tr = run(name, s.grad, s.start, int(q["steps"]), loss_fn=s.f, lr=float(q[f"{name}.lr"]))
        gap = np.asarray(tr.loss) - s.min_value
        hit = np.flatnonzero(gap <= 1e-3)
        out[name] = (gap, int(hit[0]) if hit.size else None, tr)
    return out


def test_every_lesson_points_at_a_known_page():
    paths = {p.path for p in nav.PAGES}
    assert all(lesson.page in paths for lesson in nav.LESSONS)
    assert len(nav.LESSONS) >= 7


@pytest.mark.parametrize("lesson", RACE, ids=lambda lesson: lesson.title)
def test_race_lesson_values_are_accepted_by_the_race_page(lesson):
    settings = {s.key: s for name in lesson.query["opts"].split(",") for s in optimizer_settings(name)}
    for key, raw in lesson.query.items():
        if key in settings:
            assert settings[key].parse(raw) == pytest.approx(float(raw)), key
    Setting("steps", 300, "int", 1, 2000).parse(lesson.query["steps"])


def test_momentum_lesson_gd_zigzags_momentum_arrives_sooner():
    r = _runs(RACE[0])
    flips = lambda tr: int(np.sum(np.diff(np.sign(np.asarray(tr.params[:15, 1]))) != 0))  # noqa: E731
    assert flips(r["gd"][2]) == 14  # GD crosses the valley floor at every step
    assert flips(r["momentum"][2]) <= 5 and flips(r["nesterov"][2]) <= 5
    assert r["momentum"][1] < r["gd"][1] and r["nesterov"][1] < r["gd"][1]


def test_plateau_lesson_adaptive_rates_cross_gd_crawls():
    r = _runs(RACE[1])
    assert r["gd"][1] is None and r["gd"][0][-1] > 0.5
    assert r["rmsprop"][1] is not None and r["adagrad"][1] is not None


def test_adam_lesson_adam_family_beats_momentum():
    r = _runs(RACE[2])
    assert min(r["adam"][0][-1], r["nadam"][0][-1]) < 0.01 * r["momentum"][0][-1]
