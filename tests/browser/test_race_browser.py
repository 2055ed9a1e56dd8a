"""The race page in headless Chromium: it draws, Play moves the heads, nothing errs."""

import pytest

from browser.conftest import HEADS_JS, wait_moved

pytestmark = pytest.mark.browser


def test_play_moves_the_heads(open_page):
    opened = open_page("/race?opts=gd,momentum,adam&steps=200")
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    before = page.evaluate(HEADS_JS)
    page.get_by_text("▶ Play", exact=True).click()
    wait_moved(page, HEADS_JS, before, 0.1)
    after = page.evaluate(HEADS_JS)
    opened.screenshot("race-playing")
    assert len(before) == len(after) > 0
    moved = sum(abs(a - b) for a, b in zip(before, after))
    assert moved > 0.1, "the heads did not move after Play"
    assert opened.real_errors() == []


def test_view_controls_rerun_only_their_part(open_page):
    """The log scale and the step-through are fragments: the race figure above stays the same
    drawn element (not sent again), and the address bar still follows them."""
    from browser.conftest import rerun_and_wait

    opened = open_page("/race")
    page = opened.page
    page.evaluate("() => { window.__race = document.querySelector('.js-plotly-plot'); }")
    kept = "() => window.__race === document.querySelector('.js-plotly-plot')"
    rerun_and_wait(page, lambda: page.get_by_text("log scale").click(), min_plots=2)
    assert page.evaluate(kept) and "logy=0" in page.url
    rerun_and_wait(page, lambda: page.get_by_text("Step through one optimizer").click(), min_plots=3)
    rerun_and_wait(page, lambda: page.get_by_text("Step ▶").click(), min_plots=3)
    assert page.get_by_text("Update 1 → 2").count() == 1
    assert page.evaluate(kept) and "walk_k=1" in page.url
    assert opened.real_errors() == []
