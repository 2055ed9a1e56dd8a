"""A bound on the server's memory, checked as each rerun starts.  Past the limit, the heap pages the
process freed go back to the system first (glibc keeps them: measured, the landscape page alone
leaves 1,125 MB resident, of which 422 MB are such pages, given back in under a millisecond).
Only if that is not enough are the compiled JAX programs dropped, all at once (~50 MB for a network
training program, ~200 MB for the gradients page's; dropping one alone frees nothing: JAX's own
compilation cache holds every executable until ``jax.clear_caches``); the next run that needs one
loads it again from the persistent compilation cache (~0.2 s) or compiles it (seconds).

The limit is the 1 GB a process is budgeted.  Measured, walking the 8 pages' defaults in one
process: 1,128 MB with every program kept, 541 MB without any; the landscape page's working set
alone is 860–900 MB after trimming.  At 800 MB, a tab that went through the gradients and network
pages dropped every program at nearly each landscape slider step (2.8–5.1 s a step, 0.9 s at
1,000 MB).  The page caches (st.cache_data) are bounded by their entry counts."""

from __future__ import annotations

import ctypes
import gc
import os

import jax

from surfaces import training

LIMIT_MB = float(os.environ.get("DESCENT_LAB_MEMORY_MB", "1000"))


def rss_mb() -> float:
    """The resident memory of this process, in MB (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def _trim() -> None:
    """Give freed heap pages back to the system (glibc keeps them otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# What a clearing could not give back (caches of results, the heap's fragments): the next
# clearing waits until the process has grown by MARGIN_MB past it.  Without this, a process that
# stays above the limit after clearing would drop its programs at every rerun and compile them
# again each time (measured: a 0.8 s slider step of the gradients page took 2.8 s).  A page's own
# programs come back within its next runs: the margin is the landscape page's (~300 MB).
MARGIN_MB = 300.0
_after_last = {"mb": 0.0}


def bound(limit_mb: float = LIMIT_MB, margin_mb: float = MARGIN_MB) -> bool:
    """When the process holds more than ``limit_mb``: give its freed heap pages back; if it still
    holds more than ``limit_mb``, and more than ``margin_mb`` beyond what it held after the last
    clearing, drop the compiled programs too.  True if it dropped them."""
    if rss_mb() < limit_mb:
        return False
    gc.collect()
    _trim()
    if rss_mb() < max(limit_mb, _after_last["mb"] + margin_mb):
        return False
    training.clear_compiled()
    jax.clear_caches()
    gc.collect()
    _trim()
    _after_last["mb"] = rss_mb()
    return True
