"""The vanishing/exploding gradients page in headless Chromium: it draws, Play moves the per-layer
gradient norms, the default preset shows its verdict, nothing errs."""

import pytest

pytestmark = pytest.mark.browser

# The moving ‖∂J/∂W_l‖ line of the first run (legend group "g") in the animated figure.
GRADS_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  const i = gd.data.findIndex(t => t.legendgroup === 'g');
  return Array.from(gd._fullData[i].y);
}"""

SMALL = "/gradients?preset=free&depth=6&width=16&act=tanh&init=xavier&opt=adam&adam.lr=0.01&epochs=10&m=200"


def test_play_moves_the_layer_norms(open_page):
    opened = open_page(SMALL)
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=120_000)
    before = page.evaluate(GRADS_JS)
    page.get_by_text("▶ Play", exact=True).click()
    page.wait_for_function("(before) => (" + GRADS_JS + ")()"
                           ".some((a, i) => Math.abs(a - before[i]) > 1e-6 * Math.abs(before[i]))",
                           arg=before, timeout=60_000)
    after = page.evaluate(GRADS_JS)
    opened.screenshot("gradients-playing")
    assert len(before) == len(after) == 7  # 6 hidden layers + the output layer
    assert any(abs(a - b) > 1e-6 * abs(b) for a, b in zip(before, after)), "the norms did not move after Play"
    assert opened.real_errors() == []


def test_the_default_preset_shows_its_verdict(open_page):
    opened = open_page("/gradients")
    page = opened.page
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=300_000)
    assert page.query_selector('[data-testid="stException"]') is None
    assert page.get_by_text("✓ The claim holds in these runs: first/last").count() == 1
    opened.screenshot("gradients")
    assert opened.real_errors() == []
