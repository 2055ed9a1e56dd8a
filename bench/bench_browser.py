"""The pages as a user feels them, in headless Chromium against one `streamlit run` on
127.0.0.1: time to the first figure on a warm server, and the time for a slider step to
re-render the page (a key press on the first visible slider of the sidebar, until Streamlit is idle
and the figures are drawn again).  Also the JSON size of each figure the page sends.

    python bench/bench_browser.py [--port 8766] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serve import CHROMIUM_ARGS, serve  # noqa: E402
from ui import nav  # noqa: E402

SIZES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g =>
  JSON.stringify({data: g.data, layout: g.layout, frames: (g._transitionData || {})._frames || []}).length)"""
# The last change inside any figure after the key press: the moment the page looks redrawn.
ARM_JS = """() => { window.__last = 0;
  if (!window.__obs) {
    window.__obs = new MutationObserver(ms => { for (const m of ms) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.closest('.js-plotly-plot')) { window.__last = performance.now(); return; } } });
    window.__obs.observe(document.body, {subtree: true, childList: true, attributes: true});
  }
  window.__t0 = performance.now(); }"""
SETTLED_JS = """() => window.__last > 0 && performance.now() - window.__last > 400"""


def wait_idle(page, timeout_ms=120_000):
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def measure(page, base, info, repeat):
    url = f"{base}/{info.url_path}"
    page.goto(url)  # warm-up: compiles this page's default runs
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    wait_idle(page)
    firsts = []
    for _ in range(repeat):
        t = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        firsts.append(time.perf_counter() - t)
        wait_idle(page)
    sizes = page.evaluate(SIZES_JS)
    steps = []
    visible = [e for e in page.query_selector_all('[data-testid="stSidebar"] input[type=range]') if e.is_visible()]
    slider = visible[0] if visible else None
    if slider is not None:
        for k in range(repeat):
            slider.focus()
            page.evaluate(ARM_JS)
            page.keyboard.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")
            page.wait_for_function(SETTLED_JS, timeout=30_000)
            wait_idle(page)
            steps.append(page.evaluate("() => (window.__last - window.__t0) / 1000"))
    return firsts, steps, sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with serve(args.port) as (base, _):
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            print(f"{'page':<12} {'first figure (warm), s':>24} {'slider step re-render, s':>26}  figure JSON, MB")
            for info in nav.available():
                if not info.url_path:
                    continue
                firsts, steps, sizes = measure(page, base, info, args.repeat)
                step_txt = f"{statistics.median(steps):.2f} (max {max(steps):.2f})" if steps else "no slider"
                print(f"{info.url_path:<12} {statistics.median(firsts):>17.2f} (max {max(firsts):.2f})"
                      f" {step_txt:>26}  {', '.join(f'{s / 1e6:.2f}' for s in sizes)}")
            b.close()


if __name__ == "__main__":
    main()
