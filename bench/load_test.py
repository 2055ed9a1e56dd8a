"""Many students on one server, or on several behind nginx: N browser sessions (default 20) open
the race page, each with its own configuration.  Each session measures its first figure, then a
re-render (a key press on its steps slider: a new run, no new compile), and checks that it saw its
own figure both times (its start point, its step count: no cross-talk).  Reports the medians and
95th percentiles and each server's memory.

    python bench/load_test.py [--sessions 20] [--open 4] [--port 8765]
        one `streamlit run` on 127.0.0.1
    python bench/load_test.py --proxy [--workers 3] [--sessions 60] [--open 4] [--port 8780]
        deploy/serve_class.py: W workers behind nginx on 127.0.0.1 (its cookie pins each session
        to a worker); also counts the sessions each worker served

Loopback only; bounded: N ≤ 100 sessions, 10 s a session (at least 600 s) in all, then it stops
by itself.  --open pages load at the same time (the one headless Chromium here renders every
student's page: all at once measures the browser, not the servers)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serve import CHROMIUM_ARGS, rss_mb, serve  # noqa: E402
from tests.browser.conftest import IDLE_JS, INIT_JS, RUNS_JS  # noqa: E402

SURFACES = ["bowl", "rosenbrock", "himmelblau", "rastrigin", "beale", "booth", "saddle", "plateau"]
OPTS = ["gd", "momentum", "nesterov", "rmsprop", "adam", "adamax", "nadam", "adagrad", "adamw"]

START_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  if (!gd) return null;
  const t = gd._fullData.find(t => t.name === 'start');
  const legend = gd._fullData.filter(t => t.showlegend !== false).map(t => t.name);
  const steps = gd._fullLayout.sliders[0].steps;
  return {x: t.x[0], y: t.y[0], last: steps[steps.length - 1].label, names: legend};
}"""
STEPS = 'input[type=range][aria-label="steps"]'



def config(i: int) -> dict:
    """A distinct race per session, as in a class following one lesson: the same surfaces and
    optimizers, each student with their own start point, learning rate and step count."""
    j = i % 100  # up to 100 distinct sessions, the teacher's after them
    x0, y0 = round(-1.0 + 0.02 * j, 3), round(0.5 + 0.01 * j, 3)
    return {"surface": SURFACES[i % 2], "opts": "gd,momentum,adam", "x0": x0, "y0": y0,
            "adam.lr": [0.01, 0.02, 0.03, 0.05][i % 4], "steps": 100 + 10 * j}


def own(seen: dict | None, cfg: dict, steps: int) -> bool:
    """Whether the figure a session saw is its own: its start point and its step count."""
    return (seen is not None and abs(seen["x"] - cfg["x0"]) < 1e-6 and abs(seen["y"] - cfg["y0"]) < 1e-6
            and seen["last"] == str(steps))


async def wait_figure(page, cfg: dict, steps: int, t0: float, limit: float = 180) -> dict | None:
    """The race figure once it shows the session's ``steps`` (None if not within ``limit`` s)."""
    seen = None
    while time.perf_counter() - t0 < limit:
        seen = await page.evaluate(START_JS)
        if seen is not None and seen["last"] == str(steps):
            return seen
        await asyncio.sleep(0.05)
    return seen


async def session(browser, base: str, i: int, results: list, gate: asyncio.Semaphore | None = None,
                  cookie: str | None = None):
    if gate is not None:
        async with gate:
            return await session(browser, base, i, results, cookie=cookie)
    from playwright.async_api import TimeoutError as PWTimeout

    cfg = config(i)
    query = "&".join(f"{k}={v}" for k, v in cfg.items())
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    await page.add_init_script(INIT_JS)  # counts Streamlit's runs (tests/browser/conftest.py)
    row = {"i": i, "first_figure_s": None, "rerender_s": None, "own_figure": False, "seen": None, "worker": None}
    t0 = time.perf_counter()
    try:
        await page.goto(f"{base}/race?{query}", timeout=120_000)
        await page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        seen = await wait_figure(page, cfg, cfg["steps"], t0)
        row.update(first_figure_s=time.perf_counter() - t0, seen=seen)
        first_own = own(seen, cfg, cfg["steps"])
        # the re-render: one more step (a new run of the session's own, in the compiled bucket)
        await page.wait_for_function(IDLE_JS, arg=[1, 1], timeout=120_000)
        ended = await page.evaluate(RUNS_JS)
        t1 = time.perf_counter()
        await page.locator(STEPS).focus()
        await page.keyboard.press("ArrowRight")
        await page.wait_for_function(IDLE_JS, arg=[ended + 1, 1], timeout=120_000)
        seen = await wait_figure(page, cfg, cfg["steps"] + 1, t1)
        row.update(rerender_s=time.perf_counter() - t1, seen=seen,
                   own_figure=first_own and own(seen, cfg, cfg["steps"] + 1))
        if cookie:
            row["worker"] = {c["name"]: c["value"] for c in await ctx.cookies()}.get(cookie)
    except (PWTimeout, asyncio.TimeoutError, Exception) as exc:  # noqa: B014
        print(f"session {i}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        results.append(row)
        await ctx.close()


async def main_async(n: int, base: str, pids: dict[str, int], open_at_once: int, cookie: str | None):
    """The teacher opens the lesson once per server first (the proxy sends a cookie-less browser to
    each worker in turn); then ``n`` sessions, ``open_at_once`` loading at a time."""
    from playwright.async_api import async_playwright

    results: list = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        warm: list = []
        for k in range(len(pids)):
            await session(browser, base, n + k, warm, cookie=cookie)
        mem_before = {w: rss_mb(pid) for w, pid in pids.items()}
        t0 = time.perf_counter()
        # One headless Chromium on this 2-core machine renders every student's page: opening all of
        # them in the same instant measures the browser, not the server.  ``--open`` pages at once.
        gate = asyncio.Semaphore(open_at_once)
        budget = max(600, 10 * n)
        await asyncio.wait_for(asyncio.gather(*(session(browser, base, i, results, gate, cookie)
                                                for i in range(n))), budget)
        wall = time.perf_counter() - t0
        mem_after = {w: rss_mb(pid) for w, pid in pids.items()}
        await browser.close()
    return results, wall, mem_before, mem_after, warm


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18] if len(xs) > 1 else xs[0]


def stat(xs: list) -> str:
    xs = [x for x in xs if x is not None]
    return f"{statistics.median(xs):.2f} | {p95(xs):.2f}" if xs else "– | –"


@contextmanager
def servers(proxy: bool, workers: int, port: int):
    """(base URL, {name: pid}, cookie name or None): one server, or ``workers`` behind nginx."""
    if not proxy:
        with serve(port) as (base, proc):
            yield base, {"server": proc.pid}, None
        return
    from deploy.serve_class import COOKIE, serving

    with serving(workers, listen=f"127.0.0.1:{port}", base_port=port + 1) as cls:
        yield cls.url, {w.name: w.proc.pid for w in cls.workers}, COOKIE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--port", type=int, default=8765, help="the server's (with --proxy: nginx's) port")
    ap.add_argument("--open", type=int, default=4, help="browser pages loading at the same time")
    ap.add_argument("--proxy", action="store_true", help="several workers behind nginx (deploy/serve_class.py)")
    ap.add_argument("--workers", type=int, default=3, help="with --proxy: how many")
    args = ap.parse_args()
    n = max(1, min(args.sessions, 100))
    load_start = load()
    with servers(args.proxy, max(1, args.workers), args.port) as (base, pids, cookie):
        idle = {w: rss_mb(pid) for w, pid in pids.items()}
        results, wall, before, after, warm = asyncio.run(main_async(n, base, pids, max(1, args.open), cookie))
    own = sum(r["own_figure"] for r in results)
    where = f"{len(pids)} workers behind nginx" if args.proxy else "one server"
    print(f"load average at the start: {load_start}")
    print(f"load average at the end  : {load()}")
    for r in warm:
        print(f"first session on {r['worker'] or 'the server'} (its first runs; compile cache shared):"
              f" {r['first_figure_s'] or float('nan'):.1f} s to first figure, re-render {r['rerender_s'] or 0:.2f} s")
    print(f"\n{n} sessions on {where}, {args.open} loading at a time, each with its own start, lr and steps\n")
    print("| sessions | workers | own figure | first figure p50 / p95, s | re-render p50 / p95, s | wall, s |")
    print("|---|---|---|---|---|---|")
    print(f"| {n} | {len(pids)} | {own}/{n} | {stat([r['first_figure_s'] for r in results]).replace(' | ', ' / ')} "
          f"| {stat([r['rerender_s'] for r in results]).replace(' | ', ' / ')} | {wall:.0f} |")
    print("\n| worker | sessions | memory idle, MB | after the teacher, MB | after all sessions, MB |")
    print("|---|---|---|---|---|")
    for w in pids:
        count = sum(r["worker"] == w for r in results) if cookie else n
        print(f"| {w} | {count} | {idle[w]:.0f} | {before[w]:.0f} | {after[w]:.0f} |")
    for r in results:
        if not r["own_figure"]:
            print("  cross-talk or failure:", r)
    sys.exit(0 if own == n else 1)


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
