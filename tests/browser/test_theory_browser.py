"""The race page's stability map in headless Chromium: its dots (αλ for each Hessian eigenvalue)
move when the learning-rate slider moves."""

import pytest

from browser.conftest import rerun_and_wait

pytestmark = pytest.mark.browser

# The x of the stability map's dots of one optimizer (traces whose meta is "dots:<name>"), as
# Plotly drew them (_fullData: the arrays decoded).
DOTS_JS = """(name) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullData
      && g._fullData.some(t => t.meta === 'dots:' + name));
  return gd ? gd._fullData.filter(t => t.meta === 'dots:' + name).flatMap(t => Array.from(t.x)) : null;
}"""


def test_the_dots_move_with_the_learning_rate(open_page):
    opened = open_page("/race?opts=gd&steps=100")
    page = opened.page
    before = page.evaluate(DOTS_JS, "gd")
    assert before == pytest.approx([0.01, 0.2], rel=1e-6)  # α = 0.01, eigenvalues 1 and 20
    slider = page.locator('[data-testid="stSidebar"] input[type=range][aria-label^="$\\\\alpha"]').first
    slider.focus()
    rerun_and_wait(page, lambda: page.keyboard.press("ArrowRight"), min_plots=3)
    after = page.evaluate(DOTS_JS, "gd")
    assert "gd.lr=0.015" in page.url
    assert after == pytest.approx([0.015, 0.3], rel=1e-6), after  # the next slider value, 1.5 × α
    opened.screenshot("race-theory-map")
    assert opened.real_errors() == []
