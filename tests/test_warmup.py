"""The background warm-up of a fresh server: which links it runs, and that it stays off when told."""

from lessons import PATH
from ui import nav, warmup


def test_the_warm_up_covers_every_page_and_every_lesson_card():
    got = warmup.links()
    pages = {page for page, _ in got}
    assert pages == {p.path for p in nav.available() if p.url_path}
    files = {p.url_path: p.path for p in nav.available()}
    for lesson in PATH:
        assert (files[lesson.page], lesson.query()) in got


def test_the_warm_up_is_off_when_the_environment_says_so(monkeypatch):
    monkeypatch.setenv(warmup.OFF, "0")
    assert warmup.start() is None


def test_one_warm_up_at_a_time_per_cache(tmp_path):
    """Several servers sharing a cache (or a test suite starting many) warm it once: a second
    warm-up finds the lock held and ends at once, compiling nothing."""
    import fcntl
    import os
    import subprocess
    import sys

    (tmp_path / "warmup.lock").touch()
    with open(tmp_path / "warmup.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        out = subprocess.run([sys.executable, "-m", "ui.warmup"], cwd=warmup.ROOT, capture_output=True, text=True,
                             timeout=120, env={**os.environ, "DESCENT_LAB_JAX_CACHE": str(tmp_path)})
    assert out.returncode == 0 and "another warm-up" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warmup.lock"]
