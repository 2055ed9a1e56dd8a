"""The loss landscape page in headless Chromium: it draws its figures, Play moves every path's
head from the start to its end, and nothing errs."""

import pytest

from browser.conftest import HEADS_JS, wait_moved, wait_stopped

pytestmark = pytest.mark.browser


def test_play_moves_every_path(open_page):
    opened = open_page("/landscape?opts=gd,adam&epochs=20&grid=15")
    page = opened.page
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=120_000)
    assert page.query_selector('[data-testid="stException"]') is None
    before = page.evaluate(HEADS_JS)
    n = len(before) // 2 // 2  # x then y; two comets of equal length
    page.get_by_text("▶ Play", exact=True).first.click()
    wait_moved(page, HEADS_JS, before)
    wait_stopped(page)
    after = page.evaluate(HEADS_JS)
    for run in range(2):
        head = (run + 1) * n - 1
        moved = abs(after[head] - before[head]) + abs(after[2 * n + head] - before[2 * n + head])
        assert moved > 1e-3, f"path {run} did not move"
    assert abs(after[2 * n - 1]) < 1e-6 and abs(after[4 * n - 1]) < 1e-6  # Adam, the centre's run, ends at 0, 0
    opened.screenshot("landscape")
    assert opened.real_errors() == []
