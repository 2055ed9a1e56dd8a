"""The network page in headless Chromium: it draws its figures, Play redraws the decision
boundary panels through the epochs, and nothing errs."""

import pytest

from browser.conftest import wait_stopped

pytestmark = pytest.mark.browser

# The drawn regions of every boundary panel: the runs along the grid rows (x, then y, of each
# region trace).
REGIONS_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  return gd._fullData.filter(t => t.name && t.name.startsWith('class '))
      .map(t => Array.from(t.x).map(v => Number.isFinite(v) ? v : -1).concat(Array.from(t.y)));
}"""


def test_the_boundaries_change_through_the_epochs(open_page):
    opened = open_page("/network?opts=gd,adam&epochs=50")
    page = opened.page
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=120_000)
    assert page.query_selector('[data-testid="stException"]') is None
    last = page.evaluate(REGIONS_JS)
    page.get_by_text("◀◀ Restart", exact=True).click()
    wait_stopped(page, 0)
    first = page.evaluate(REGIONS_JS)
    assert len(first) == len(last) == 2  # two panels, one region trace each (class 0 is the background)
    assert first != last, "epoch 0 and the last epoch draw the same boundary"
    page.get_by_text("▶ Play", exact=True).click()
    wait_stopped(page)
    assert page.evaluate(REGIONS_JS) == last, "Play did not end on the last epoch"
    opened.screenshot("network")
    assert opened.real_errors() == []
