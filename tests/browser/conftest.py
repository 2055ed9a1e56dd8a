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
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
        pytest.fail("streamlit did not start: " + (proc.stdout.read() if proc.stdout else ""))
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


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


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has finished the current run (its status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


@pytest.fixture
def open_page(browser, server):
    contexts = []

    def _open(path: str, width: int = 1400, height: int = 1000, wait_plot: bool = True) -> Opened:
        """Open ``path`` and wait for its first figure (or, without figures, its title)."""
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.goto(server + path)
        page.wait_for_selector(".js-plotly-plot" if wait_plot else "h1", timeout=120_000)
        wait_idle(page)
        return Opened(page, errors)

    yield _open
    for ctx in contexts:
        ctx.close()
