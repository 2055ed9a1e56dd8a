"""The memory bound drops compiled programs past its limit, and only then."""

import numpy as np

from surfaces import network as N
from surfaces import training as T
from ui import memory


def _one_program():
    data = T.make_data("moons", 40, 0.2, 0, 2, 0.25)
    T.timed_fit(N.init_mlp(0, N.mlp_sizes(1, 4, 2, 1), "xavier"), data, "gd", 3, 8, {"lr": 0.1}, 0, "tanh",
                "cross_entropy")


def test_rss_is_measured():
    assert 10 < memory.rss_mb() < 1e6


def test_below_the_limit_nothing_is_dropped():
    _one_program()
    n = T.compiled_programs()
    assert n >= 1 and memory.bound(limit_mb=np.inf) is False and T.compiled_programs() == n


def test_past_the_limit_the_compiled_programs_go(monkeypatch):
    monkeypatch.setattr(memory, "_after_last", {"mb": 0.0})
    _one_program()
    assert memory.bound(limit_mb=1.0, margin_mb=0.0) is True and T.compiled_programs() == 0
    _one_program()  # and the next run compiles (or loads) its program again
    assert T.compiled_programs() == 1


def test_a_process_that_stays_above_the_limit_does_not_clear_at_every_run(monkeypatch):
    """After a clearing, the next one waits for the process to grow by the margin: a process
    whose results alone exceed the limit would otherwise recompile its programs at every rerun."""
    monkeypatch.setattr(memory, "_after_last", {"mb": 0.0})  # no clearing before this test's own
    _one_program()
    assert memory.bound(limit_mb=1.0, margin_mb=0.0) is True
    _one_program()
    assert memory.bound(limit_mb=1.0, margin_mb=300.0) is False and T.compiled_programs() == 1
    held = memory.rss_mb()
    ballast = np.ones(int(350e6 / 8))  # the process grows by 350 MB: past the margin
    assert memory.rss_mb() > held + 300
    assert memory.bound(limit_mb=1.0, margin_mb=300.0) is True and T.compiled_programs() == 0
    del ballast


def test_freed_heap_pages_go_back_before_any_program_is_dropped(monkeypatch):
    """Past the limit, the freed heap pages are given back first (measured: 422 of the 1,125 MB the
    landscape page leaves resident); the programs stay when that brings the process under the
    limit, and go when it does not."""
    _one_program()
    n = T.compiled_programs()
    resident = {"mb": 900.0}
    trims = []

    def trim(after):
        trims.append(after)
        resident["mb"] = after

    monkeypatch.setattr(memory, "rss_mb", lambda: resident["mb"])
    monkeypatch.setattr(memory, "_after_last", {"mb": 0.0})
    monkeypatch.setattr(memory, "_trim", lambda: trim(700.0))
    assert memory.bound(limit_mb=800.0, margin_mb=0.0) is False and T.compiled_programs() == n and trims == [700.0]
    resident["mb"] = 900.0
    monkeypatch.setattr(memory, "_trim", lambda: trim(850.0))
    assert memory.bound(limit_mb=800.0, margin_mb=0.0) is True and T.compiled_programs() == 0
