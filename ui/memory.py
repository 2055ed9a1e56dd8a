"""A bound on the server's memory.  Past the limit, in this order, until the process is under it:

1. the heap pages the process freed go back to the system (glibc keeps them: measured, the
   landscape page alone leaves 1,125 MB resident, of which 422 MB are such pages, given back in
   under a millisecond);
2. the least recently used network-training programs go, one at a time (~50 MB each), but the
   ``KEEP`` most recent (the page in use keeps its own);
3. every compiled program goes (the other pages' jitted functions too: the gradients page's hold
   ~200 MB).

A dropped program is loaded again from the persistent compilation cache (~0.2 s) or compiled
(seconds) by the next run that needs it.  Measured after walking the 8 pages' defaults: 1,128 MB
with every program kept, 541 MB without any.  The page caches (st.cache_data) are bounded by their
entry counts."""

from __future__ import annotations

import ctypes
import gc
import os

import jax

from surfaces import training

LIMIT_MB = float(os.environ.get("DESCENT_LAB_MEMORY_MB", "800"))


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
# again each time (measured: a 0.8 s slider step of the gradients page took 2.8 s).
MARGIN_MB = 150.0
KEEP = 4  # the network-training programs a page makes at once: the page in use keeps its own
_after_last = {"mb": 0.0}


def bound(limit_mb: float = LIMIT_MB, margin_mb: float = MARGIN_MB) -> bool:
    """When the process holds more than ``limit_mb``: give its freed heap pages back, then drop the
    least recently used training programs but ``KEEP``; if it still holds more than ``limit_mb``,
    and more than ``margin_mb`` beyond what it held after the last clearing, drop every compiled
    program.  True if it dropped them all."""
    if rss_mb() < limit_mb:
        return False
    gc.collect()
    _trim()
    while rss_mb() >= limit_mb and training.drop_oldest(KEEP):
        _trim()
    if rss_mb() < max(limit_mb, _after_last["mb"] + margin_mb):
        return False
    training.clear_compiled()
    jax.clear_caches()
    gc.collect()
    _trim()
    _after_last["mb"] = rss_mb()
    return True
