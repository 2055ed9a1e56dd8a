"""Cached computations shared by the pages, keyed by their inputs (never by the session):
the same configuration on any page, for any user, is computed once."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from optim.runner import surface_record
from surfaces import SURFACES, Surface, parse_formula
from viz.surface import Grid, make_grid, surface_image, wants_log_levels

CUSTOM = "custom"


@st.cache_resource(max_entries=64, show_spinner=False)
def surface_of(name: str, formula: str = "", domain: tuple = ()) -> Surface:
    """A registered surface, or the user's formula on its domain (FormulaError if refused).
    One object per input, so runs on it share a compilation."""
    if name == CUSTOM:
        return parse_formula(formula, domain)
    return SURFACES[name]


@st.cache_data(max_entries=64, show_spinner=False)
def surface_picture(name: str, formula: str = "", domain: tuple = (), n: int = 300) -> tuple[str, bool, Grid]:
    """(PNG data URI, log levels?, an 80 × 80 grid for the 3-D view) of a surface."""
    s = surface_of(name, formula, domain)
    fine = make_grid(s.f, s.domain, n)
    log = s.log_levels or (name == CUSTOM and wants_log_levels(fine.z))
    return surface_image(fine, log), log, make_grid(s.f, s.domain, 80)


@st.cache_data(max_entries=512, show_spinner=False)
def trajectory(name: str, formula: str, domain: tuple, optimizer: str, convention: str,
               hp: tuple, x0: tuple, steps: int, schedule: str, sched_params: tuple,
               noise: float, seed: int) -> dict[str, np.ndarray]:
    """One run on a surface, as NumPy arrays (``optim.runner.surface_record``: computed for a
    bucket of steps, so that moving the steps slider never recompiles)."""
    return surface_record(surface_of(name, formula, domain), optimizer, x0, steps, convention=convention,
                          hp=dict(hp), schedule=schedule, schedule_params=dict(sched_params), noise=noise,
                          seed=seed)


def in_parallel(fn: Callable, calls: list[tuple]) -> list:
    """``[fn(*args) for args in calls]``, computed in threads: XLA compiles with the GIL released,
    so the new programs of a page (one per optimizer or variant) compile side by side on the
    cores.  Cached calls return at once; results come in the order of ``calls``."""
    if len(calls) <= 1:
        return [fn(*args) for args in calls]
    ctx = get_script_run_ctx()

    def call(args):
        if ctx is not None:
            add_script_run_ctx(threading.current_thread(), ctx)
        return fn(*args)

    with ThreadPoolExecutor(max_workers=min(len(calls), os.cpu_count() or 2)) as pool:
        return list(pool.map(call, calls))
