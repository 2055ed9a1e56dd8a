"""The pages as a user feels them, in headless Chromium against `streamlit run` on 127.0.0.1,
each divided by the floor: bench/floor_app.py (one slider, one 50-point Plotly line), served by a
second server and measured in the same run, interleaved with the app's pages.

Per page:
- warm first figure: a new browser context (a new visitor, empty browser cache) opens the page's
  default link on a server that has already served it; the time from the navigation's start to
  the first drawn figure, and to the page done (the run over, no skeleton, every figure drawn);
- slider re-render: a key press (→) on the page's first hyperparameter slider in the sidebar (an
  optimizer's or a schedule's, from the registries: the runs change, no shape does; its expander
  opened first if closed), until the rerun is over and every figure is drawn again;
- shape change: a key press on a slider that changes a static shape (steps across a compile
  bucket, epochs, depth, cells), measured the same way;  the first one on the server compiles;
- cold first figure after a fresh server start, without the persistent JAX compilation cache (a
  new empty DESCENT_LAB_JAX_CACHE) and with it (the directory the first start filled), each
  with the floor's cold start beside it;
- the JSON size of each figure, and the server's memory after every page was visited.

Every measured key press lands on a configuration the server has not computed yet (the page is
reopened with a new seed first), so no re-render is a cache hit.  Waits follow the page's own
state (tests/browser/conftest.py), never a fixed time.

    python bench/bench_browser.py [--repeat 5] [--pages race,data] [--cold-repeat N | --no-cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serve import CHROMIUM_ARGS, rss_mb, serve  # noqa: E402
from tests.browser.conftest import arm, goto_and_wait, wait_idle, watch_runs  # noqa: E402
from ui import nav  # noqa: E402

FLOOR = "bench/floor_app.py"
FLOOR_SLIDER = "frequency"

SIZES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(g =>
  JSON.stringify({data: g.data, layout: g.layout, frames: (g._transitionData || {})._frames || []}).length)"""
# The first drawn figure; notes the moment (ms since the navigation started).
FIRST_JS = """() => { const drawn = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
  .some(g => g._fullLayout);
  if (drawn) window.__firstAt = performance.now();
  return drawn; }"""
HPARAM_INPUT = 'input[type=range][aria-label^="$"]'  # a slider from the registries: its label is LaTeX
HPARAM = '[data-testid="stSidebar"] ' + HPARAM_INPUT


@dataclass(frozen=True)
class Shape:
    """A key press on the slider labelled ``label`` that changes a static shape, from the page opened
    with ``query``."""

    label: str
    key: str
    query: str = ""

    def describe(self) -> str:
        return f"{self.label.split('(')[0].strip()}, {self.key}"


# How each page gets a new configuration without a new shape (a parameter in its cache keys), and
# its shape change.  race and decay start at 400 steps: PageUp (+10 % of 1..2000) goes to 600,
# past the 512-step bucket of ui/cache.trajectory.
PAGES = {
    "race": ("seed", Shape("steps", "PageUp", "steps=400")),
    "data": ("seed", Shape("epochs (passes through the data)", "ArrowRight")),
    "decay": ("seed", Shape("steps", "PageUp", "steps=400")),
    "gradients": ("seed", Shape("depth L (hidden layers)", "ArrowRight")),
    "network": ("seed", Shape("epochs", "ArrowRight")),
    "tuning": ("tol", Shape("steps per run", "ArrowRight")),
}


def fresh(page: str, k: int) -> str:
    """A query that gives ``page`` a configuration not computed before (k = 0, 1, ...)."""
    param = PAGES.get(page, ("seed", None))[0]
    return f"tol={1e-3 * (1 + (k + 1) / 1000):.7g}" if param == "tol" else f"seed={1000 + k}"


@dataclass
class Result:
    first: list = field(default_factory=list)
    done: list = field(default_factory=list)
    step: list = field(default_factory=list)
    shape: list = field(default_factory=list)
    floor_first: list = field(default_factory=list)
    floor_step: list = field(default_factory=list)
    slider: str = ""
    sizes: list = field(default_factory=list)
    # "none" | "cache" | "floor" -> [(first figure, page done), ...]
    cold: dict = field(default_factory=lambda: {"none": [], "cache": [], "floor": []})
    error: str = ""  # the page's exception, if it raised one: nothing else is measured


def first_figure(browser, url: str) -> tuple[float, float]:
    """A new visitor opens ``url``: seconds to the first drawn figure and to the page done."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        watch_runs(page)
        page.goto(url, wait_until="commit", timeout=300_000)
        page.wait_for_function(FIRST_JS, timeout=300_000)
        wait_idle(page, 1, 1)
        return page.evaluate("[window.__firstAt / 1000, window.__stIdleAt / 1000]")
    finally:
        ctx.close()


def press(page, slider, key: str) -> float:
    """Seconds from a key press on ``slider`` to the end of its rerun with every figure drawn."""
    slider.focus()
    ended = arm(page)
    page.keyboard.press(key)
    wait_idle(page, ended + 1, 1)
    return page.evaluate("(window.__stIdleAt - window.__stArmedAt) / 1000")


def hparam_slider(page):
    """The first visible hyperparameter slider of the sidebar; if they are all in closed expanders,
    the first one after opening its expander (a click the browser handles alone: no rerun)."""
    sliders = page.locator(HPARAM)
    for i in range(sliders.count()):
        if sliders.nth(i).is_visible():
            return sliders.nth(i)
    if sliders.count() == 0:
        return None
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]').filter(has=page.locator(HPARAM_INPUT)).first \
        .locator("summary").click()
    sliders.first.wait_for(state="visible")
    return sliders.first


def by_label(page, label: str):
    return page.locator(f'[data-testid="stSidebar"] input[type=range][aria-label="{label}"]')


def warm(browser, base: str, floor: str, name: str, repeat: int) -> Result:
    """Warm measurements of one page, each followed by the floor's."""
    res = Result()
    url = f"{base}/{name}"
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    fctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page, fpage = ctx.new_page(), fctx.new_page()
        goto_and_wait(page, url, 1)  # compiles the page's default runs, fills the caches
        error = page.locator('[data-testid="stException"]')
        if error.count():
            res.error = error.first.inner_text().splitlines()[0][:200]
            return res
        res.sizes = page.evaluate(SIZES_JS)
        goto_and_wait(fpage, floor, 1)
        fslider = by_label(fpage, FLOOR_SLIDER)
        shape = PAGES.get(name, (None, None))[1]
        for k in range(repeat):
            first, done = first_figure(browser, url)
            res.first.append(first)
            res.done.append(done)
            res.floor_first.append(first_figure(browser, floor)[0])

            goto_and_wait(page, f"{url}?{fresh(name, k)}", 1)
            slider = hparam_slider(page)
            if slider is not None:
                res.slider = slider.get_attribute("aria-label")
                res.step.append(press(page, slider, "ArrowRight"))
            res.floor_step.append(press(fpage, fslider, "ArrowRight" if k % 2 == 0 else "ArrowLeft"))

            if shape is not None:
                goto_and_wait(page, f"{url}?{'&'.join(filter(None, [shape.query, fresh(name, repeat + k)]))}", 1)
                res.shape.append(press(page, by_label(page, shape.label), shape.key))
    finally:
        ctx.close()
        fctx.close()
    return res


def cold(browser, name: str, res: Result, repeat: int) -> None:
    """First figure after a fresh server start: without the compilation cache (a new empty
    directory), the floor's fresh server, then with the cache (the directory the first start
    filled); ``repeat`` times."""
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="descent-lab-jax-") as cache:
            env = {"DESCENT_LAB_JAX_CACHE": cache}
            with serve(env=env) as (base, _):
                res.cold["none"].append(first_figure(browser, f"{base}/{name}"))
            with serve(script=FLOOR) as (base, _):
                res.cold["floor"].append(first_figure(browser, base))
            with serve(env=env) as (base, _):
                res.cold["cache"].append(first_figure(browser, f"{base}/{name}"))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def cell(xs, floor=None) -> str:
    if not xs:
        return "–"
    txt = f"{med(xs):.2f}"
    if len(xs) > 1:
        txt += f" (max {max(xs):.2f})"
    if floor:
        txt += f", **{med(xs) / med(floor):.2f}×**"
    return txt


def table(results: dict, floor_all: dict, cold_done: bool) -> str:
    head = ["page", "warm first figure, s (×floor)", "warm page done, s", "slider re-render, s (×floor)",
            "shape change, s", "figure JSON, MB"]
    if cold_done:
        head[5:5] = ["cold first figure, no compile cache, s (×floor cold)",
                     "cold, with compile cache, s (×floor cold)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        if r.error:
            rows.append(f"| {name} | the page raised: {r.error} |" + " |" * (len(head) - 2))
            continue
        shape = PAGES.get(name, (None, None))[1]
        row = [name, cell(r.first, r.floor_first), cell(r.done),
               f"{cell(r.step, r.floor_step)} [{r.slider}]" if r.step else "no hyperparameter slider",
               f"{cell(r.shape)} [{shape.describe()}]" if shape and r.shape else "–",
               ", ".join(f"{s / 1e6:.2f}" for s in r.sizes)]
        if cold_done:
            floor_cold = [f for f, _ in r.cold["floor"]]
            row[5:5] = [f"{cell([f for f, _ in r.cold[k]], floor_cold)}; done {med([d for _, d in r.cold[k]]):.2f}"
                        for k in ("none", "cache")]
        rows.append("| " + " | ".join(row) + " |")
    floor = ["floor", cell(floor_all["first"]), "–", cell(floor_all["step"]), "–", "–"]
    if cold_done:
        floor[5:5] = [cell(floor_all["cold"]), "–"]
    rows.append("| " + " | ".join(floor) + " |")
    return "\n".join(rows)


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="measurements of each kind per page")
    ap.add_argument("--pages", default="", help="comma-separated url paths (default: every page)")
    ap.add_argument("--cold-repeat", type=int, default=0,
                    help="fresh-server starts of each kind per page (default: --repeat)")
    ap.add_argument("--no-cold", action="store_true", help="skip the fresh-server measurements")
    args = ap.parse_args()
    args.cold_repeat = args.cold_repeat or args.repeat
    from playwright.sync_api import sync_playwright

    pages = [p.url_path for p in nav.available() if p.url_path]
    if args.pages:
        wanted = args.pages.split(",")
        unknown = set(wanted) - set(pages)
        if unknown:
            ap.error(f"unknown pages {sorted(unknown)}; there are {pages}")
        pages = [p for p in pages if p in wanted]
    print(f"load before: {load()}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="descent-lab-jax-") as cache, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            with serve(env={"DESCENT_LAB_JAX_CACHE": cache}) as (base, app), serve(script=FLOOR) as (floor, fproc):
                mem_idle = rss_mb(app.pid)
                for name in pages:
                    t = time.perf_counter()
                    results[name] = warm(browser, base, floor, name, args.repeat)
                    print(f"  {name}: warm measurements in {time.perf_counter() - t:.0f} s", flush=True)
                mem, fmem = rss_mb(app.pid), rss_mb(fproc.pid)
            if not args.no_cold:
                for name in [n for n in pages if not results[n].error]:
                    t = time.perf_counter()
                    cold(browser, name, results[name], args.cold_repeat)
                    print(f"  {name}: cold starts in {time.perf_counter() - t:.0f} s", flush=True)
        finally:
            browser.close()
    floor_all = {"first": [x for r in results.values() for x in r.floor_first],
                 "step": [x for r in results.values() for x in r.floor_step],
                 "cold": [f for r in results.values() for f, _ in r.cold["floor"]]}
    print(f"load after:  {load()}")
    print(f"\n{args.repeat} measurements of each kind per page, medians (max); ×floor: the page's median over "
          f"the floor's measured between them; {os.cpu_count()} CPUs\n")
    print(table(results, floor_all, not args.no_cold))
    print(f"\nserver memory (RSS of streamlit and its children): app {mem_idle:.0f} MB idle, {mem:.0f} MB after "
          f"visiting {', '.join(pages)}; the floor's server {fmem:.0f} MB")


if __name__ == "__main__":
    main()
