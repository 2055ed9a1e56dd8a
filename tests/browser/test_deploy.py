"""Serving a class (deploy/): two Streamlit workers behind nginx, two students in two browsers.
Each gets its own page through the proxy (its own race, its own start point), on its own worker;
every request a browser makes after the first (scripts, the websocket, health checks) reaches
the worker its cookie names, and the websocket is upgraded (101)."""

from __future__ import annotations

import os
import re
import socket
import time

import pytest

from browser.conftest import CHROMIUM, goto_and_wait, rerun_and_wait
from deploy.serve_class import COOKIE, config, nginx_path, serving

START_JS = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  const t = gd._fullData.find(t => t.name === 'start');
  return [t.x[0], t.y[0]];
}"""


def _free_ports(n: int) -> list[int]:
    """n free ports on 127.0.0.1, consecutive (the workers take base, base + 1, ...)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return list(range(base, base + n))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free consecutive ports")


@pytest.fixture(scope="module")
def needs():
    missing = [name for name, there in (("nginx", nginx_path()), ("chromium", CHROMIUM)) if not there]
    if missing:
        msg = f"{' and '.join(missing)} missing: apt-get install -y {' '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{msg} (.ci/run installs them)")
        pytest.skip(msg)


def test_the_config_names_every_worker_once_and_leaves_no_field(tmp_path):
    text = config("0.0.0.0:8080", [9001, 9002, 9003], tmp_path)
    assert not re.search(r"{{[A-Z_]+}}", text)
    assert f"pid {tmp_path}/nginx.pid;" in text and "listen 0.0.0.0:8080;" in text
    for i, port in enumerate([9001, 9002, 9003]):
        block = re.search(rf"upstream descent_lab_w{i} {{(.*?)}}", text, re.S).group(1)
        assert f"server 127.0.0.1:{port};" in block  # its own worker first, the others as backups
        assert block.count("backup") == 2 and f"127.0.0.1:{port} backup" not in block
        assert f"        w{i} descent_lab_w{i};" in text
        assert f'"~(^|\\s)127\\.0\\.0\\.1:{port}$" w{i};' in text
    assert text.count("proxy_set_header Upgrade $http_upgrade;") == 1


@pytest.mark.browser
def test_two_students_through_nginx_get_their_own_pages_on_their_own_workers(needs, browser, tmp_path):
    proxy, *workers = _free_ports(3)
    starts = [(-1.5, 1.25), (2.0, -0.75)]
    with serving(workers=2, listen=f"127.0.0.1:{proxy}", base_port=workers[0], warmup=False, quiet=True,
                 logs=tmp_path) as cls:
        pinned, pages, contexts = [], [], []
        for x0, y0 in starts:  # one student after the other: round robin sends them to different workers
            ctx = browser.new_context(viewport={"width": 1200, "height": 900})  # its own cookies
            contexts.append(ctx)
            page = ctx.new_page()
            goto_and_wait(page, f"{cls.url}/race?opts=gd,adam&steps=60&x0={x0}&y0={y0}", min_plots=1)
            pinned.append({c["name"]: c["value"] for c in ctx.cookies()}[COOKIE])
            pages.append(page)
        for page, (x0, y0) in zip(pages, starts):  # a rerun over each websocket: still its own race
            assert page.evaluate(START_JS) == pytest.approx([x0, y0])
            rerun_and_wait(page, lambda page=page: page.get_by_text("log scale").click(), min_plots=2)
            assert "logy=0" in page.url and page.evaluate(START_JS) == pytest.approx([x0, y0])
            assert page.query_selector('[data-testid="stException"]') is None
        for ctx in contexts:
            ctx.close()
        # nginx logs a websocket when it closes: wait for both (or fail after a minute)
        deadline = time.monotonic() + 60
        while True:
            log = (cls.run_dir / "access.log").read_text()
            closed = [n for n in pinned if re.search(rf"/_stcore/stream .*cookie={n}\b", log)]
            if len(closed) == len(pinned) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert sorted(pinned) == ["w0", "w1"], pinned
    port_of = {w.name: w.port for w in cls.workers}
    lines = [line for line in log.splitlines() if f"cookie={pinned[0]}" in line or f"cookie={pinned[1]}" in line]
    assert len(lines) > 10  # the scripts, the health checks, the websocket, per browser
    for line in lines:
        cookie = re.search(r"cookie=(\w+)", line).group(1)
        assert re.search(rf"upstream=127\.0\.0\.1:{port_of[cookie]}\b", line), line
    for name in pinned:
        stream = [line for line in lines if "/_stcore/stream" in line and f"cookie={name}" in line]
        assert stream and all('" 101 ' in line for line in stream), stream
