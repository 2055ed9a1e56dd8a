"""JAX's persistent compilation cache: a restarted server (or a new test run) reuses the
compiled runs of the last one instead of spending ~1–5 s per optimizer and surface again."""

from __future__ import annotations

import os
from pathlib import Path

import jax


def enable(path: str | os.PathLike | None = None) -> Path:
    """Cache compiled programs on disk (``DESCENT_LAB_JAX_CACHE`` or ~/.cache/descent-lab/jax)."""
    where = Path(path or os.environ.get("DESCENT_LAB_JAX_CACHE") or Path.home() / ".cache" / "descent-lab" / "jax")
    where.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(where))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return where
