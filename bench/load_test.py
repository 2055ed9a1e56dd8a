"""Many students on one server: N browser sessions (default 20) open the race page at once,
each with its own configuration, against one `streamlit run` on 127.0.0.1.  Checks that each
session sees its own figure (no cross-talk) and reports the time to first figure and the
server's memory.  Bounded: N ≤ 40 sessions, 600 s in all; --open pages load at the same time (the one headless
Chromium here renders every student's page, so all at once measures the browser).

    python bench/load_test.py [--sessions 20] [--open 4] [--port 8765]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serve import CHROMIUM_ARGS, serve  # noqa: E402

SURFACES = ["bowl", "rosenbrock", "himmelblau", "rastrigin", "beale", "booth", "saddle", "plateau"]
OPTS = ["gd", "momentum", "nesterov", "rmsprop", "adam", "adamax", "nadam", "adagrad", "adamw"]

START_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  if (!gd) return null;
  const t = gd._fullData.find(t => t.name === 'start');
  const legend = gd._fullData.filter(t => t.showlegend !== false).map(t => t.name);
  return {x: t.x[0], y: t.y[0], xrange: gd._fullLayout.xaxis.range, names: legend};
}"""


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children, in MB (Linux /proc)."""
    total = 0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                     text=True).stdout.split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def config(i: int) -> dict:
    """A distinct race per session, as in a class following one lesson: the same surfaces and
    optimizers, each student with their own start point, learning rate and step count."""
    x0, y0 = round(-1.0 + 0.05 * i, 3), round(0.5 + 0.025 * i, 3)
    return {"surface": SURFACES[i % 2], "opts": "gd,momentum,adam", "x0": x0, "y0": y0,
            "adam.lr": [0.01, 0.02, 0.03, 0.05][i % 4], "steps": 100 + 10 * i}


async def session(browser, base: str, i: int, results: list, gate: asyncio.Semaphore | None = None):
    if gate is not None:
        async with gate:
            return await session(browser, base, i, results)
    from playwright.async_api import TimeoutError as PWTimeout

    cfg = config(i)
    query = "&".join(f"{k}={v}" for k, v in cfg.items())
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(f"{base}/race?{query}", timeout=120_000)
        await page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        seen = None
        while seen is None and time.perf_counter() - t0 < 120:
            seen = await page.evaluate(START_JS)
            if seen is None:
                await asyncio.sleep(0.1)
        first = time.perf_counter() - t0
        own = seen is not None and abs(seen["x"] - cfg["x0"]) < 1e-6 and abs(seen["y"] - cfg["y0"]) < 1e-6
        results.append({"i": i, "first_figure_s": first, "own_figure": own, "seen": seen})
    except (PWTimeout, asyncio.TimeoutError, Exception) as exc:  # noqa: B014
        print(f"session {i}: {type(exc).__name__}: {str(exc)[:200]}")
        results.append({"i": i, "first_figure_s": None, "own_figure": False, "seen": None})
    finally:
        await ctx.close()


async def main_async(n: int, base: str, pid: int, open_at_once: int):
    from playwright.async_api import async_playwright

    results: list = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        warm: list = []
        await session(browser, base, 999, warm)  # the teacher opens the lesson first
        mem_before = rss_mb(pid)
        t0 = time.perf_counter()
        # One headless Chromium on this 2-core machine renders every student's page: opening all of
        # them in the same instant measures the browser, not the server.  ``--open`` pages at once.
        gate = asyncio.Semaphore(open_at_once)
        await asyncio.wait_for(asyncio.gather(*(session(browser, base, i, results, gate) for i in range(n))), 600)
        wall = time.perf_counter() - t0
        mem_after = rss_mb(pid)
        await browser.close()
    return results, wall, mem_before, mem_after, warm[0]["first_figure_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--open", type=int, default=4, help="browser pages loading at the same time")
    args = ap.parse_args()
    n = max(1, min(args.sessions, 40))
    with serve(args.port) as (base, proc):
        idle = rss_mb(proc.pid)
        results, wall, before, after, cold = asyncio.run(main_async(n, base, proc.pid, max(1, args.open)))
    times = [r["first_figure_s"] for r in results if r["first_figure_s"] is not None]
    own = sum(r["own_figure"] for r in results)
    print(f"first session on a fresh server (compiles the lesson's runs): {cold:.1f} s to first figure")
    print(f"then {n} sessions at once on the same server, each with its own start, lr and steps")
    print(f"  each saw its own figure     : {own}/{n}")
    if times:
        print(f"  time to first figure, s     : median {statistics.median(times):.1f}, max {max(times):.1f}")
    print(f"  wall time for all sessions  : {wall:.1f} s")
    print(f"  server memory, MB           : idle {idle:.0f}, before {before:.0f}, after {after:.0f}")
    bad = [r for r in results if not r["own_figure"]]
    for r in bad:
        print("  cross-talk or failure:", r)
    sys.exit(0 if own == n else 1)


if __name__ == "__main__":
    main()
