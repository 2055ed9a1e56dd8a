"""The data page in headless Chromium: it draws, Play moves every run's head along the epochs,
the fits and the pseudo-code's counters follow, and nothing errs."""

import pytest

from browser.conftest import wait_until

pytestmark = pytest.mark.browser

STATE_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  const trace = name => gd._fullData[gd.data.findIndex(t => t.name === name)];
  const heads = trace('heads'), fit = trace('fit 1'), code = trace('code');
  return {heads: Array.from(heads.x).concat(Array.from(heads.y)), fit: Array.from(fit.y),
          code: Array.from(code.text).join('\\n'), slider: gd._fullLayout.sliders[0].active};
}"""
# Play is under way: what the test checks below (a frame's heads move before its texts change).
PLAYING_JS = """(before) => { const s = (""" + STATE_JS + """)();
  return s.slider > 0 && s.fit.join() !== before.fit.join() && s.code.includes('◀ epoch') && s.code.includes('◀ t = ')
      && s.heads.reduce((d, v, i) => d + Math.abs(v - before.heads[i]), 0) > 0.1; }"""


def test_play_moves_heads_fits_and_code(open_page):
    opened = open_page("/data?m=100&epochs=3&sizes=1,16,m&focus=16")
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    before = page.evaluate(STATE_JS)
    assert "not started" in before["code"] and "mini-batch GD: b = 16" in before["code"]
    page.get_by_text("▶ Play", exact=True).click()
    wait_until(page, PLAYING_JS, before)
    mid = page.evaluate(STATE_JS)
    opened.screenshot("data-playing")
    assert len(before["heads"]) == len(mid["heads"]) > 0
    assert sum(abs(a - b) for a, b in zip(before["heads"], mid["heads"], strict=True)) > 0.1, "heads did not move"
    assert mid["fit"] != before["fit"], "the SGD fit did not move"
    assert "◀ epoch" in mid["code"] and "◀ t = " in mid["code"], "the pseudo-code's counters did not follow"
    assert mid["slider"] > 0
    assert opened.real_errors() == []
