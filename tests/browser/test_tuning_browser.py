"""The tuning page in headless Chromium: the sweep draws, a cell shows its hover, clicking it
picks it (Plotly point selection → rerun → URL and race link), nothing errs."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from browser.conftest import arm, wait_idle

pytestmark = pytest.mark.browser

PLOT_BOX_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g.data.some(t => t.name === 'cells'));
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  return {l: r.left + xa._offset, t: r.top + ya._offset, w: xa._length, h: ya._length,
          n: gd._fullData.find(t => t.name === 'cells')._length};
}"""

PICKED_JS = """() => [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
  .some(m => m.innerText.startsWith('Picked cell'))"""


def test_clicking_a_cell_picks_it_and_links_the_race(open_page):
    opened = open_page("/tuning?n=32&steps=100&seeds=20")
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    box = page.evaluate(PLOT_BOX_JS)
    assert box["n"] == 32 * 32 and box["w"] > 200 and box["h"] > 200, box
    x, y = box["l"] + 0.25 * box["w"], box["t"] + 0.6 * box["h"]
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    assert "click: open this run" in page.text_content(".hoverlayer .hovertext")
    ended = arm(page)
    t0 = time.perf_counter()
    page.mouse.click(x, y)
    page.wait_for_function(PICKED_JS, timeout=60_000)
    picked_s = time.perf_counter() - t0
    wait_idle(page, ended + 1)
    # the address bar follows the run asynchronously: wait for it rather than read it at once
    page.wait_for_function("() => location.search.includes('pick=')", timeout=30_000)
    query = parse_qs(urlsplit(page.url).query)
    assert "pick" in query
    lr, beta2 = map(float, query["pick"][0].split(","))
    assert 1e-4 <= lr <= 2 and 0.5 <= beta2 <= 0.9999
    assert lr < 0.1  # a quarter of the way along α's log axis: about 1e-3, not the best cell's ~0.5
    href = page.get_attribute('[data-testid="stLinkButton"] a', "href")
    race = parse_qs(urlsplit(href).query)
    assert race["opts"] == ["adam"] and "adam.lr" in race and "adam.beta2" in race
    opened.screenshot("tuning-picked")
    print(f"click → picked cell shown: {picked_s:.2f} s")
    assert opened.real_errors() == []
