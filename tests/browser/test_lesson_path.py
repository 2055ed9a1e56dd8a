"""A student's walk through the app in one browser tab: the home page's lesson cards one after
the other (each opens its page on its lesson, whose claim holds), the sidebar to every page
(each opens on its own defaults: its address has no settings), the back button (it restores
the earlier page and its settings), presentation mode kept from page to page, and the keyboard
shortcuts.  Then the projector (1280 × 720, presentation mode) and phone (390 × 844) layouts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from browser.conftest import ANIMATION_JS, rerun_and_wait, wait_until
from lessons import PATH
from ui import nav

pytestmark = pytest.mark.browser
PAGES = [p for p in nav.available() if p.url_path]


def _route(page) -> tuple[str, dict]:
    parts = urlsplit(page.url)
    return parts.path.strip("/"), {k: v[0] for k, v in parse_qs(parts.query).items()}


def _healthy(opened, where: str) -> None:
    page = opened.page
    exceptions = [e.inner_text()[:300] for e in page.query_selector_all('[data-testid="stException"]')]
    assert not exceptions, f"{where}: {exceptions}"
    assert opened.real_errors() == [], f"{where}: console errors {opened.real_errors()}"


def _sidebar(page, title: str):
    return page.locator('[data-testid="stSidebarNav"] a', has_text=title).first


def _plots(path: str) -> int:
    return 0 if path == "" else 1


def test_the_lesson_path_in_one_tab(open_page):
    opened = open_page("/", wait_plot=False)
    page = opened.page
    for i, lesson in enumerate(PATH):
        rerun_and_wait(page, lambda i=i: page.get_by_text("Open this lesson").nth(i).click(), min_plots=1)
        path, query = _route(page)
        where = f"lesson {i + 1} ({lesson.title})"
        assert path == lesson.page, f"{where} opened /{path}"
        _healthy(opened, where)
        box = page.get_by_text(lesson.title, exact=False)
        assert box.count() >= 1, f"{where}: the page does not show its lesson"
        assert page.get_by_text("✓ The claim holds").count() >= 1, f"{where}: its claim box has no ✓"
        assert page.get_by_text("✗ The claim does not hold").count() == 0, f"{where}: a claim fails"
        opened.screenshot(f"walk-lesson-{i + 1}")
        rerun_and_wait(page, lambda: _sidebar(page, "Home").click())
        assert _route(page)[0] == "" and page.get_by_text("Open this lesson").count() == len(PATH)

    # The sidebar to every page: each opens on its defaults, whatever the previous page set.
    rerun_and_wait(page, lambda: page.get_by_text("Open this lesson").nth(len(PATH) - 1).click(), min_plots=1)
    visited = []
    for info in PAGES + PAGES[:1]:
        rerun_and_wait(page, lambda info=info: _sidebar(page, info.title).click(), min_plots=1)
        path, query = _route(page)
        assert path == info.url_path
        assert query == {}, f"/{path} opened by the sidebar with settings it was not given: {query}"
        _healthy(opened, f"/{path} by the sidebar")
        visited.append(page.url)

    # The back button restores the earlier page with its settings.
    for expected in reversed(visited[:-1][-2:]):
        rerun_and_wait(page, page.go_back, min_plots=1)
        assert page.url == expected
        _healthy(opened, f"back to {expected}")


def test_presentation_mode_follows_the_tab_and_the_keys_play_the_race(open_page):
    opened = open_page("/race?present=1", width=1280, height=720)
    page = opened.page
    assert _route(page)[1].get("present") == "1"
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no widget has the focus
    state = page.evaluate(ANIMATION_JS)
    assert state["active"] == 0 and not state["playing"]
    page.keyboard.press("ArrowRight")
    assert wait_until(page, "() => (" + ANIMATION_JS + ")().active === 1", timeout_ms=10_000)
    page.keyboard.press("Home")
    assert wait_until(page, "() => (" + ANIMATION_JS + ")().active === 0", timeout_ms=10_000)
    page.keyboard.press(" ")
    assert wait_until(page, "() => (" + ANIMATION_JS + ")().active > 3", timeout_ms=20_000), "Space did not play"
    page.keyboard.press(" ")
    assert wait_until(page, "() => !(" + ANIMATION_JS + ")().playing", timeout_ms=10_000), "Space did not pause"
    # the sidebar is collapsed in presentation mode: its link is followed as a click would
    rerun_and_wait(page, lambda: _sidebar(page, "Learning-rate decay").dispatch_event("click"), min_plots=1)
    assert _route(page) == ("decay", {"present": "1"})
    _healthy(opened, "decay in presentation mode")


def _box(page, selector: str) -> dict:
    return page.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                         " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }", selector)


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize("where", ["race", "online", "data", "decay", "landscape"])
@pytest.mark.parametrize("size, query, name", [((1280, 720), "?present=1", "present-1280x720"),
                                               ((390, 844), "", "phone-390x844")])
def test_the_animated_figure_controls_fit_and_do_not_overlap(open_page, where, size, query, name):
    """The page's animated figure (its first): Play buttons beside, not over, the step slider;
    on a projector, the figure and its controls within the screen under the title."""
    opened = open_page(f"/{where}" + query, width=size[0], height=size[1])
    page = opened.page
    fig = '[data-testid="stPlotlyChart"] .js-plotly-plot'
    buttons = _box(page, f"{fig} .updatemenu-container")
    slider = _box(page, f"{fig} .slider-container")
    assert not _overlap(buttons, slider), f"{where}, {name}: the Play buttons cover the step slider"
    title = page.evaluate(f"""() => {{ const g = document.querySelector('{fig}');
        const t = g.querySelector('.g-xtitle text'); return t ? t.getBoundingClientRect().toJSON() : null; }}""")
    if title is not None:  # the x axis's title: above the buttons, not under them
        assert not _overlap(buttons, title), f"{where}, {name}: the Play buttons cover the x axis's title"
    if query:  # a projector: the figure and its controls fit the screen below the title
        page.evaluate("() => window.scrollTo(0, 0)")
        slider = _box(page, f"{fig} .slider-container")
        assert slider["bottom"] <= size[1], f"{where}, {name}: the step slider ends at {slider['bottom']} px"
    opened.screenshot(f"{where}-{name}")
    _healthy(opened, name)
