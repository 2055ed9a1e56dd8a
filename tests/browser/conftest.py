"""A real `streamlit run` server on 127.0.0.1 and headless Chromium (Debian's package) driven
by Playwright.  Outside CI, without Chromium, these tests skip with the install command."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
SHOTS = ROOT / "artifacts" / "screenshots"
# Streamlit's own front end first asks <page>/_stcore/health and host-config (404) before the
# root ones: those two requests are the framework's probing, not errors of this app.
IGNORED_CONSOLE = ("Failed to load resource: the server responded with a status of 404",)


# The moving trace of an animated race figure (viz.race): its points, x then y.
HEADS_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  const i = gd.data.findIndex(t => t.name === 'heads');
  return Array.from(gd._fullData[i].x).concat(Array.from(gd._fullData[i].y));
}"""


# The animated figure (the one with a frame slider): the frame its slider shows, the last one, and
# whether an animation is under way (Plotly's animation loop, its frame queue, a transition).
ANIMATION_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  const t = gd._transitionData || {}, slider = gd._fullLayout.sliders[0];
  return {active: slider.active, last: slider.steps.length - 1,
          playing: Boolean(t._animationRaf) || (t._frameQueue || []).length > 0 || Boolean(gd._transitioning)};
}"""


def wait_until(page, predicate_js: str, arg=None, timeout_ms: int = 60_000) -> bool:
    """Wait until ``predicate_js`` holds; False (no exception) if it did not within the timeout, so
    that the test's own assertions then say what is wrong."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(predicate_js, arg=arg, timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True


def wait_moved(page, values_js: str, before: list, by: float = 0.1, timeout_ms: int = 60_000) -> None:
    """Wait until the numbers ``values_js`` returns have moved away from ``before`` by more than
    ``by`` in all (the sum of the absolute differences): an animation is under way."""
    page.wait_for_function("([before, by]) => { const now = (" + values_js + ")();"
                           " return now.length === before.length"
                           " && now.reduce((s, v, i) => s + Math.abs(v - before[i]), 0) > by; }",
                           arg=[before, by], timeout=timeout_ms)


def wait_stopped(page, frame: int | None = None, timeout_ms: int = 60_000) -> None:
    """Wait until the animated figure is still, showing ``frame`` (its last frame if None)."""
    page.wait_for_function("(frame) => { const a = (" + ANIMATION_JS + ")();"
                           " return !a.playing && a.active === (frame === null ? a.last : frame); }",
                           arg=frame, timeout=timeout_ms)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run should have installed it (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
def server():
    """The app on a free port of 127.0.0.1, for the whole session."""
    port = _free_port()
    SHOTS.parent.mkdir(parents=True, exist_ok=True)
    log = open(SHOTS.parent / "browser-server.log", "w")  # a file, not a pipe nobody reads (it would fill)
    # No background warm-up: the tests' timings and the CPU stay the tests' own.
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "DESCENT_LAB_WARMUP": "0"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        log.close()
        pytest.fail("streamlit did not start: " + (SHOTS.parent / "browser-server.log").read_text()[-3000:])
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


class Opened:
    """A page opened in the browser, with the console errors it logged."""

    def __init__(self, page, errors):
        self.page, self.errors = page, errors

    def real_errors(self) -> list[str]:
        return [e for e in self.errors if not e.startswith(IGNORED_CONSOLE)]

    def screenshot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


# When has Streamlit's run ended, and has the page taken it in?  ``data-test-script-state`` of the
# stApp element reads "running" while the script runs and "notRunning" after, but it is React state:
# a key press only starts its rerun a moment later (until then the state still reads "notRunning"),
# and a short run's "running" may never reach the DOM at all (React renders the start and the end
# of the run together).  So runs are counted where they happen:
# - every ForwardMsg that arrives on the websocket is read (its top-level protobuf fields: field 6
#   is script_finished) before Streamlit's own listener sees it: ``finished`` counts them;
# - React's devtools hook reports each commit, and the end of its passive effects (useEffect,
#   where Streamlit's chart calls Plotly.react): ``ended`` is the number of script_finished
#   messages that a commit has taken in once its effects have run, i.e. runs whose figures are
#   on their way to the screen.  Streamlit handles a message in the task that receives it, so a
#   commit that comes after it includes it.  (A commit without passive effects ends at once:
#   React's Passive and ChildDeletion flags, 2048 | 16 in React 18.)
# Installed before the page's scripts (``watch_runs``).  ``RUNS_JS`` alone (a page opened
# without it) falls back on the state attribute: each change to "notRunning" ends a run.
INIT_JS = """(() => {
  if (window.__stRuns) return;
  const runs = window.__stRuns = {finished: 0, committed: 0, ended: 0};
  const isFinished = buf => {  // does this ForwardMsg set its field 6 (script_finished)?
    const b = new Uint8Array(buf); let i = 0;
    const varint = () => { let x = 0, m = 1, c; do { c = b[i++]; x += (c & 127) * m; m *= 128; } while (c & 128);
                           return x; };
    while (i < b.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (field === 6) return true;
      if (wire === 0) varint(); else if (wire === 1) i += 8; else if (wire === 2) { const n = varint(); i += n; }
      else if (wire === 5) i += 4; else return false;
    }
    return false;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => {
        if (!(e.data instanceof ArrayBuffer && isFinished(e.data))) return;
        runs.finished++;
        runs.finishedAt = performance.now();  // the benchmark splits a rerun's time here
      });
    }
  };
  const effectsDone = () => { runs.ended = Math.max(runs.ended, runs.committed); };
  window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
    supportsFiber: true, isDisabled: false, renderers: new Map(),
    inject(renderer) { const id = this.renderers.size + 1; this.renderers.set(id, renderer); return id; },
    checkDCE() {}, onScheduleFiberRoot() {}, onCommitFiberUnmount() {},
    onCommitFiberRoot(id, root) {
      runs.committed = runs.finished;
      const f = root.current;
      if (!((f.flags | f.subtreeFlags) & (2048 | 16))) effectsDone();
    },
    onPostCommitFiberRoot: effectsDone,
  };
})()"""
RUNS_JS = """() => {
  if (window.__stRuns) return window.__stRuns.ended;
  // installed late: a state already "notRunning" means a run has ended
  const app = document.querySelector('[data-testid="stApp"]');
  const runs = window.__stRuns = {ended: app && app.getAttribute('data-test-script-state') === 'notRunning' ? 1 : 0};
  new MutationObserver(ms => { for (const m of ms) {
    const now = m.target.getAttribute('data-test-script-state');
    if (now === 'notRunning' && m.oldValue !== 'notRunning') runs.ended++;
  } }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state'],
                          attributeOldValue: true});
  return runs.ended;
}"""
# Idle: the script is not running, no element is still loading its code (Streamlit shows a
# stSkeleton meanwhile: Plotly's bundle arrives after the run has ended), every chart holds a
# drawn Plotly figure, and there are at least ``minPlots`` of them (unless the run ended in an
# exception: the caller sees it at once rather than after the timeout).  When true, it notes the
# moment in window.__stIdleAt (benchmarks read it).
IDLE_JS = """([ended, minPlots]) => {
  const runs = window.__stRuns;
  if (!runs || runs.ended < ended) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  if (charts.length < minPlots && !document.querySelector('[data-testid="stException"]')) return false;
  if (!charts.every(c => { const gd = c.querySelector('.js-plotly-plot'); return gd && gd._fullLayout; })) return false;
  // figures drawn in place (ui/figure.py): each component holds one, drawn, and none is drawing
  if (document.querySelector('[data-dl-drawing]')) return false;
  if (![...document.querySelectorAll('[data-testid="stBidiComponentRegular"]')].every(
      c => { const gd = c.querySelector('.dl-figure'); return gd && gd._fullLayout; })) return false;
  window.__stIdleAt = performance.now();
  return true;
}"""

# What the idle check sees, for the message of a wait that timed out.
STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  const drawn = c => { const gd = c.querySelector('.js-plotly-plot'); return Boolean(gd && gd._fullLayout); };
  return {runsEnded: (window.__stRuns || {}).ended, state: app && app.getAttribute('data-test-script-state'),
          skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length, charts: charts.length,
          undrawn: charts.filter(c => !drawn(c)).length,
          drawing: document.querySelectorAll('[data-dl-drawing]').length,
          exceptions: [...document.querySelectorAll('[data-testid="stException"]')]
              .map(e => e.innerText.slice(0, 300))};
}"""


def watch_runs(page) -> None:
    """Count Streamlit's runs in every document ``page`` loads from now on (installed before the
    page's own scripts)."""
    if not getattr(page, "_st_runs_watched", False):
        page.add_init_script(INIT_JS)
        page._st_runs_watched = True


def arm(page) -> int:
    """The number of runs that have ended in the current document (counting from now on if no
    observer was installed yet); also notes the moment in window.__stArmedAt."""
    return page.evaluate("() => { window.__stArmedAt = performance.now(); return (" + RUNS_JS + ")(); }")


def wait_idle(page, ended: int = 1, min_plots: int = 0, timeout_ms: int = 300_000) -> None:
    """Wait until at least ``ended`` runs have ended in this document and the page is idle: the
    script not running, no skeleton left, every figure drawn (and at least ``min_plots``).
    After ``page.goto`` (with ``watch_runs``) the default waits for the first run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate(RUNS_JS)
    try:
        page.wait_for_function(IDLE_JS, arg=[ended, min_plots], timeout=timeout_ms)
    except PlaywrightTimeout as exc:
        raise PlaywrightTimeout(f"{exc.message}\nwaiting for {ended} runs to have ended and the page to be idle"
                                f" ({page.url}): {page.evaluate(STATE_JS)}") from None


def goto_and_wait(page, url: str, min_plots: int = 0, timeout_ms: int = 300_000) -> None:
    """Open ``url`` and wait for its first run to end and the page to be idle."""
    watch_runs(page)
    page.goto(url, wait_until="commit", timeout=timeout_ms)
    wait_idle(page, 1, min_plots, timeout_ms)


def rerun_and_wait(page, action, min_plots: int = 0, timeout_ms: int = 300_000):
    """Do ``action()`` (a key press, a click) that makes Streamlit rerun, then wait until that
    rerun has ended and the page is idle.  Returns what ``action`` returned."""
    ended = arm(page)
    result = action()
    wait_idle(page, ended + 1, min_plots, timeout_ms)
    return result


@pytest.fixture
def open_page(browser, server):
    contexts = []

    def _open(path: str, width: int = 1400, height: int = 1000, wait_plot: bool = True) -> Opened:
        """Open ``path`` and wait until its first run has ended and its figures are drawn (a page
        without figures: until the run has ended and its title shows)."""
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page = ctx.new_page()
        watch_runs(page)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.goto(server + path, wait_until="commit")
        wait_idle(page, 1, 1 if wait_plot else 0)
        page.wait_for_selector(".js-plotly-plot" if wait_plot else "h1", timeout=10_000)
        return Opened(page, errors)

    yield _open
    for ctx in contexts:
        ctx.close()
