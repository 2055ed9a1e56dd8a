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
