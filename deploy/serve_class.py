"""Serve a class: N Streamlit workers on local ports behind nginx, one address for every student.

    python deploy/serve_class.py --workers 3 --listen 0.0.0.0:8080      (or deploy/serve_class.sh)

1. Warms the compile cache: the lesson path's programs compiled once (``python -m ui.warmup``)
   into one persistent JAX cache that every worker shares (``--cache``, else
   ``DESCENT_LAB_JAX_CACHE``, else ~/.cache/descent-lab/jax); a worker then loads a program in
   ~0.2 s instead of compiling it in 1–6 s.  Skipped with ``--no-warmup``.
2. Starts N ``streamlit run app.py`` workers on 127.0.0.1 (ports ``--base-port`` and up), each
   waited for until it answers its health check.
3. Writes deploy/nginx.conf, filled in, to a temporary directory and runs nginx from it as the
   current user (no root): session affinity by a cookie, websocket upgrades (see the config).
4. Waits; Ctrl-C (or SIGTERM, or any of them dying) stops nginx and every worker and removes the
   temporary directory.

``serving(...)`` does the same as a context manager (the deploy test and bench/load_test.py
--proxy use it)."""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf")
COOKIE = "descent_lab_worker"
NGINX_INSTALL = "apt-get install -y nginx"


@dataclass(frozen=True)
class Worker:
    name: str  # the cookie's value: w0, w1, ...
    port: int
    proc: subprocess.Popen


@dataclass(frozen=True)
class Class:
    url: str  # the proxy's address, as a browser on this machine reaches it
    workers: list[Worker]
    nginx: subprocess.Popen
    run_dir: Path


def nginx_path() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.path.exists(p)), None)


def config(listen: str, ports: list[int], run_dir: Path) -> str:
    """deploy/nginx.conf with its fields filled: ``listen`` (host:port), one worker per port."""
    names = [f"w{i}" for i in range(len(ports))]
    servers = "\n        ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    pinned = []
    for name, port in zip(names, ports):
        backups = "".join(f"\n        server 127.0.0.1:{p} backup;" for p in ports if p != port)
        pinned.append(f"    upstream descent_lab_{name} {{\n        server 127.0.0.1:{port};{backups}\n    }}")
    user = ""
    if os.geteuid() == 0:  # nginx's workers would switch to "nobody" and lose the temporary directory
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};"
    fields = {
        "RUN": str(run_dir), "USER": user, "LISTEN": listen, "COOKIE": COOKIE, "SERVERS": servers,
        "PINNED": "\n".join(pinned),
        "COOKIE_MAP": "\n".join(f"        {n} descent_lab_{n};" for n in names),
        # the address nginx tried last is the one that answered: "a, b" after a failover ends in b
        "ADDR_MAP": "\n".join(f'        "~(^|\\s)127\\.0\\.0\\.1:{p}$" {n};' for n, p in zip(names, ports)),
    }
    text = TEMPLATE.read_text()
    for k, v in fields.items():
        text = text.replace("{{" + k + "}}", v)
    return text


def wait_healthy(url: str, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    """Wait until ``url`` answers 200 (``proc`` still alive), or raise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def warm(cache: Path, quiet: bool = False) -> None:
    """The lesson path's programs compiled into ``cache`` (ui/warmup.py, in the foreground)."""
    subprocess.run([sys.executable, "-m", "ui.warmup"], cwd=ROOT, check=True,
                   env={**os.environ, "DESCENT_LAB_JAX_CACHE": str(cache), "DESCENT_LAB_WARMUP": "0"},
                   stdout=subprocess.DEVNULL if quiet else None)


@contextmanager
def serving(workers: int = 2, listen: str = "127.0.0.1:8080", base_port: int = 8601, cache: Path | None = None,
            warmup: bool = True, logs: Path | None = None, quiet: bool = False, env: dict | None = None):
    """N workers and nginx in front of them; yields a ``Class``; stops them all on exit."""
    exe = nginx_path()
    if exe is None:
        raise RuntimeError(f"nginx is not installed: {NGINX_INSTALL} (deploy/serve_class.sh does it)")
    cache = Path(cache or os.environ.get("DESCENT_LAB_JAX_CACHE") or Path.home() / ".cache" / "descent-lab" / "jax")
    cache.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    if warmup:
        say(f"warming the compile cache {cache} (the lesson path's programs)…")
        t0 = time.perf_counter()
        warm(cache, quiet)
        say(f"  warm in {time.perf_counter() - t0:.0f} s")
    with ExitStack() as stack:
        run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="descent-lab-nginx-")))
        os.chmod(run_dir, 0o755)
        logs = Path(logs or run_dir)
        logs.mkdir(parents=True, exist_ok=True)
        ports = [base_port + i for i in range(workers)]
        started: list[Worker] = []
        for i, port in enumerate(ports):
            log = stack.enter_context(open(logs / f"worker-{i}.log", "w"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "DESCENT_LAB_JAX_CACHE": str(cache), "DESCENT_LAB_WARMUP": "0", **(env or {})})
            stack.callback(_stop, proc)
            started.append(Worker(f"w{i}", port, proc))
        for w in started:
            wait_healthy(f"http://127.0.0.1:{w.port}/_stcore/health", w.proc, f"worker {w.name} (port {w.port})")
            say(f"worker {w.name} on 127.0.0.1:{w.port} (pid {w.proc.pid})")
        conf = run_dir / "nginx.conf"
        conf.write_text(config(listen, ports, run_dir))
        test = subprocess.run([exe, "-t", "-p", str(run_dir), "-c", str(conf)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{test.stderr}")
        nginx = subprocess.Popen([exe, "-p", str(run_dir), "-c", str(conf)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(_stop, nginx, signal.SIGQUIT)  # graceful: open connections are closed cleanly
        host, port = listen.rsplit(":", 1)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '*', '') else host}:{port}"
        wait_healthy(url + "/_stcore/health", nginx, f"nginx (log: {run_dir / 'error.log'})")
        say(f"nginx on {listen}: open {url}")
        yield Class(url, started, nginx, run_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="Streamlit processes (default: cores)")
    ap.add_argument("--listen", default="0.0.0.0:8080", help="nginx's address (default 0.0.0.0:8080)")
    ap.add_argument("--base-port", type=int, default=8601, help="the first worker's port on 127.0.0.1")
    ap.add_argument("--cache", type=Path, default=None, help="the shared JAX compile cache")
    ap.add_argument("--logs", type=Path, default=None, help="where the workers write their logs")
    ap.add_argument("--no-warmup", action="store_true", help="do not compile the lesson path first")
    args = ap.parse_args()

    def interrupt(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # as Ctrl-C: the context's exit stops every process
    try:
        with serving(args.workers, args.listen, args.base_port, args.cache, not args.no_warmup, args.logs) as cls:
            print("Ctrl-C stops nginx and every worker.", flush=True)
            while True:
                dead = [w.name for w in cls.workers if w.proc.poll() is not None]
                if cls.nginx.poll() is not None or dead:
                    sys.exit(f"stopping: {'nginx' if cls.nginx.poll() is not None else 'worker ' + ', '.join(dead)}"
                             " exited")
                time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopped nginx and the workers", flush=True)
    except RuntimeError as exc:
        sys.exit(f"serve_class: {exc}")

if __name__ == "__main__":
    main()
