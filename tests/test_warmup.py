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
