"""The learning-rate decay page in headless Chromium: a lesson draws its three figures, Play
moves the heads, the log-axis toggle reaches the α_t figure and the URL, nothing errs."""

import pytest

from browser.conftest import HEADS_JS, rerun_and_wait, wait_moved

pytestmark = pytest.mark.browser


ALPHA_AXIS_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout
      && g._fullLayout.yaxis.title && g._fullLayout.yaxis.title.text === 'α_t');
  return {type: gd._fullLayout.yaxis.type, traces: gd.data.map(t => t.name)};
}"""


def test_a_lesson_draws_plays_and_switches_to_a_log_axis(open_page):
    opened = open_page("/decay?preset=too_large")
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=120_000)
    assert page.get_by_text("✓ The claim holds").count() == 1
    axis = page.evaluate(ALPHA_AXIS_JS)
    assert axis == {"type": "linear", "traces": ["Constant", "Time-based", "Exponential"]}

    before = page.evaluate(HEADS_JS)
    page.get_by_text("▶ Play", exact=True).click()
    wait_moved(page, HEADS_JS, before, 0.1)
    after = page.evaluate(HEADS_JS)
    assert len(before) == len(after) > 0
    assert sum(abs(a - b) for a, b in zip(before, after)) > 0.1, "the heads did not move after Play"
    opened.screenshot("decay-too-large-playing")

    rerun_and_wait(page, page.get_by_text("log axis for α_t").click)
    page.wait_for_function("() => (" + ALPHA_AXIS_JS + ")().type === 'log'", timeout=60_000)
    page.wait_for_function("location.search.includes('loglr=1')", timeout=60_000)
    opened.screenshot("decay-too-large-log")
    assert opened.real_errors() == []
