"""One browser tab moving between pages, under AppTest running app.py (st.navigation): each page
reads only its own settings, arriving at a page by any route applies that link (the ones it
does not name take the page's defaults), and refused input leaves every other setting as it was.

Streamlit clears the query string when the sidebar navigates; ``go`` does the same."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from lessons import PATH
from ui import nav

PAGES = {p.url_path or "home": p.path for p in nav.available()}


def tab() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    return at.run()


def go(at: AppTest, page: str, **query) -> AppTest:
    """Follow a link to ``page`` (the sidebar: no query; a lesson card or a pasted link: ``query``)."""
    at.query_params.clear()
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(PAGES[page])
    at.run()
    assert not at.exception, f"{page}: {at.exception}"
    return at


def url(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def widget(at: AppTest, page: str, name: str):
    """The widget of setting ``name`` on ``page`` (sidebar or main area)."""
    key = f"{page}:{name}"
    for kind in ("slider", "select_slider", "number_input", "selectbox", "multiselect", "radio", "toggle",
                 "checkbox", "text_input"):
        for w in at.get(kind):
            if getattr(w, "key", None) == key:
                return w
    raise KeyError(key)


# A link of every page that sets several of its settings away from their defaults (only those).
LINKS = {
    "race": {"surface": "rosenbrock", "opts": "adam,nesterov", "steps": "700", "noise": "5", "tol": "1e-06",
             "x0": "0.5", "y0": "2", "adam.lr": "0.05"},
    "online": {"preset": "free", "C": "5", "runs": "adam,gd", "steps": "600", "paper": "0", "beta2": "0.2"},
    "data": {"m": "2000", "noise": "2", "epochs": "3", "opt": "adam", "sizes": "16,m"},
    "decay": {"steps": "1500", "surface": "rosenbrock", "preset": "free", "scheds": "constant,cosine"},
    "gradients": {"preset": "tanh_xavier", "depth": "12"},
    "network": {"m": "2000", "epochs": "10", "preset": "spirals"},
    "landscape": {"opts": "adam,gd", "epochs": "10", "plane": "random", "grid": "15", "preset": "free"},
    "tuning": {"surface": "bowl", "opt": "rmsprop", "hy": "eps", "steps": "100", "n": "16"},
}
WALK = ["race", "online", "tuning", "data", "network", "landscape", "gradients", "decay", "race", "data", "online",
        "decay", "home", "network", "tuning", "landscape", "gradients", "race"]


def test_every_page_arrived_at_by_the_sidebar_shows_its_defaults_whatever_the_last_page_set():
    """The walk of issue 12: after a page with many settings changed, the sidebar opens the next
    page on its defaults (its share link is empty: publish writes only non-default values)."""
    at = tab()
    for here, there in zip(WALK, WALK[1:]):
        if here != "home":
            go(at, here, **LINKS[here])
            shown = url(at)
            for k in LINKS[here]:  # the link was applied
                assert k in shown, f"{here}: {k} of the link lost ({shown})"
        go(at, there)
        assert url(at) == {}, f"{here} → {there}: the page opened with settings it was not given: {url(at)}"


def test_values_set_on_one_page_do_not_appear_on_another():
    at = go(tab(), "race")
    widget(at, "race", "steps").set_value(1234).run()
    widget(at, "race", "noise").set_value(5.0).run()
    assert url(at)["steps"] == "1234" and url(at)["noise"] == "5"
    at = go(at, "decay")
    assert widget(at, "decay", "steps").value != 1234 and widget(at, "decay", "noise").value != 5.0
    assert url(at) == {}
    at = go(at, "data")
    assert widget(at, "data", "noise").value == 1.0  # the data page's own default, not the race's 5
    at = go(at, "race")  # by the sidebar: the race's own defaults again, its link is empty
    assert widget(at, "race", "steps").value == 300 and url(at) == {}


def test_the_home_cards_are_the_lesson_path():
    at = tab()
    cards = sorted(m.value for m in at.subheader)
    assert cards == sorted(f"{i + 1} · {lesson.title}" for i, lesson in enumerate(PATH))
    links = at.get("page_link")  # two columns: the cards come column by column, not in path order
    assert sorted(link.proto.query_string for link in links) == sorted(urlencode(lesson.query()) for lesson in PATH)
    assert {link.proto.page for link in links} == {lesson.page for lesson in PATH}


def test_a_lesson_card_applies_its_link_every_time():
    """Home → lesson 2 → Home → lesson 3 opens lesson 3's surface, not the last one's."""
    race_lessons = [le for le in PATH if le.page == "race"]
    assert len(race_lessons) >= 2
    at = tab()
    for lesson in race_lessons + race_lessons[:1]:
        go(at, "home")
        go(at, "race", **lesson.query())
        assert widget(at, "race", "preset").value == lesson.key, lesson.title
        assert widget(at, "race", "surface").value == lesson.settings["surface"], lesson.title
        assert widget(at, "race", "opts").value == lesson.settings["opts"], lesson.title
        assert widget(at, "race", "steps").value == lesson.settings["steps"], lesson.title
        assert any(m.value.startswith("✓") for m in at.success), lesson.title  # its claim box, checked


def test_the_back_button_reapplies_the_earlier_link():
    at = go(tab(), "race", **LINKS["race"])
    go(at, "tuning", **LINKS["tuning"])
    at = go(at, "race", **LINKS["race"])  # back: the browser restores the race's address
    assert widget(at, "race", "steps").value == 700 and widget(at, "race", "surface").value == "rosenbrock"
    at = go(at, "tuning", **LINKS["tuning"])  # forward
    assert widget(at, "tuning", "opt").value == "rmsprop" and widget(at, "tuning", "n").value == 16


def test_network_then_gradients_does_not_crash():
    at = go(tab(), "network", preset="overfitting")
    at = go(at, "gradients")
    assert widget(at, "gradients", "preset").value == "vanishing"


def test_a_network_link_opens_the_landscape_with_the_same_settings():
    """The landscape page reads the network page's settings under the same names."""
    at = go(tab(), "network", opts="adam", epochs="10", width="8", seed="2")
    shared = url(at)
    at = go(at, "landscape", **shared)
    for name, value in (("opts", ["adam"]), ("epochs", 10), ("width", 8), ("seed", 2)):
        assert widget(at, "landscape", name).value == value, name
    assert url(at) == shared


def test_presentation_mode_follows_the_tab():
    at = go(tab(), "race", present="1")
    assert at.session_state["present"] is True
    at = go(at, "decay")
    assert at.session_state["present"] is True and url(at).get("present") == "1"


@pytest.mark.parametrize("bad", ["x*", "import os", "y ** ** 2"])
def test_a_refused_formula_leaves_every_other_setting_as_it_was(bad):
    at = go(tab(), "race", opts="adam,gd", steps="123", noise="0.5", **{"adam.lr": "0.05"})
    widget(at, "race", "surface").set_value("custom").run()
    assert not at.exception
    before = {k: v for k, v in url(at).items() if k not in ("surface", "formula", "x0", "y0")}
    widget(at, "race", "formula").set_value(bad).run()
    assert not at.exception and at.error, "a refused formula is an error message"
    assert {k: v for k, v in url(at).items() if k not in ("surface", "formula", "x0", "y0")} == before
    widget(at, "race", "formula").set_value("x**2 + y**2").run()
    assert not at.exception and not at.error
    assert widget(at, "race", "opts").value == ["adam", "gd"]
    assert widget(at, "race", "steps").value == 123
    assert widget(at, "race", "noise").value == 0.5
    assert {k: v for k, v in url(at).items() if k not in ("surface", "formula", "x0", "y0")} == before


def test_a_refused_url_value_leaves_the_other_values_of_the_link():
    at = go(tab(), "race", steps="lots", noise="0.5", opts="adam")
    assert any("steps=lots" in w.value for w in at.warning)
    assert widget(at, "race", "steps").value == 300 and widget(at, "race", "noise").value == 0.5
    assert widget(at, "race", "opts").value == ["adam"]
