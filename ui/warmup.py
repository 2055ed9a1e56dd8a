"""Warm a fresh server: run every page of the lesson path once, in a background process, so that
JAX compiles their programs into the persistent compilation cache before the first student asks
for them (a compile costs 1–6 s; loading it from the cache ~0.2 s).

``start()`` is called by app.py once per server process; ``python -m ui.warmup`` does the same
in the foreground (before a class, or after changing the code).  One warm-up at a time per
cache (a lock file: several servers sharing a cache warm it once), and it ends with the server
that started it.  Set ``DESCENT_LAB_WARMUP=0`` to turn it off."""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OFF = "DESCENT_LAB_WARMUP"


def links() -> list[tuple[str, dict]]:
    """(page file, query) of every page's default link, then of every lesson of the path."""
    from lessons import PATH
    from ui import nav

    files = {p.url_path: p.path for p in nav.available() if p.url_path}
    return [(f, {}) for f in files.values()] + [(files[le.page], le.query()) for le in PATH if le.page in files]


def start() -> subprocess.Popen | None:
    """The warm-up as a low-priority background process (None when turned off or under AppTest)."""
    from streamlit import config

    if os.environ.get(OFF, "1") == "0" or config.get_option("global.appTest"):
        return None
    return subprocess.Popen([sys.executable, "-m", "ui.warmup", "--server", str(os.getpid())], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, OFF: "0"}, preexec_fn=_background)


def _background() -> None:
    """In the child: low priority, and a SIGTERM when the server that started it dies (Linux)."""
    os.nice(10)
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from optim import compile_cache

    server = int(sys.argv[sys.argv.index("--server") + 1]) if "--server" in sys.argv else None
    where = compile_cache.enable()
    lock = open(where / "warmup.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"another warm-up is filling {where}", flush=True)
        return
    for page, query in links():
        if server is not None and os.getppid() != server:  # the server is gone: so is the need
            return
        t0 = time.perf_counter()
        at = AppTest.from_file(str(ROOT / page), default_timeout=900)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        failed = f" ({at.exception[0].message[:80]})" if at.exception else ""
        print(f"{page} {query or ''}: {time.perf_counter() - t0:.1f} s{failed}", flush=True)
    print(f"compiled programs cached in {where}", flush=True)


if __name__ == "__main__":
    main()
