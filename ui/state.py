"""Every setting of a page lives in the URL: a Setting knows its default, how to read it from
a query parameter (refusing bad text with a reason) and how to write it back.

Flow of a page run: ``load(settings)`` fills ``st.session_state`` (from the URL the first time
a key is seen in the session, refusing malformed values with a warning), widgets are keyed by
the setting keys, and ``publish(settings)`` writes the non-default values back to the URL."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

_SEEN = "_url_seen"
_WARN = "_url_warnings"


@dataclass(frozen=True)
class Setting:
    """A page setting bound to the URL parameter ``key``.

    kind: float, int, bool, choice (one of ``choices``), multi (a comma-separated subset of
    ``choices``) or text (at most ``max_len`` characters).  ``options``: the values a
    select-slider offers; a number read from the URL snaps to the nearest of them."""

    key: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    options: tuple = field(default=(), repr=False)
    max_len: int = 300

    def parse(self, raw: str) -> Any:
        """The value of the URL text ``raw``; ValueError with the reason when it is refused."""
        raw = str(raw).strip()
        if self.kind in ("float", "int"):
            try:
                v = int(raw) if self.kind == "int" else float(raw)
            except ValueError:
                raise ValueError(f"not {'an integer' if self.kind == 'int' else 'a number'}") from None
            if not math.isfinite(v):
                raise ValueError("not a finite number")
            if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
                raise ValueError(f"outside [{self.low:g}, {self.high:g}]")
            if self.options:
                v = min(self.options, key=lambda o: abs(math.log(o / v)) if o > 0 < v else abs(o - v))
            return v
        if self.kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("not a yes/no value (use 1 or 0)")
        if self.kind == "choice":
            if raw not in self.choices:
                raise ValueError(f"not one of {', '.join(map(str, self.choices))}")
            return raw
        if self.kind == "multi":
            items = [x for x in raw.split(",") if x]
            bad = [x for x in items if x not in self.choices]
            if bad:
                raise ValueError(f"{', '.join(bad)[:60]} not among {', '.join(map(str, self.choices))}")
            return list(dict.fromkeys(items))
        if self.kind == "text":
            if len(raw) > self.max_len:
                raise ValueError(f"longer than {self.max_len} characters")
            return raw
        raise ValueError(f"unknown kind {self.kind}")

    def encode(self, value: Any) -> str:
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "multi":
            return ",".join(value)
        if self.kind == "float":
            return f"{float(value):.6g}"
        return str(value)


def load(settings: list[Setting], page: str) -> None:
    """Put each setting in ``st.session_state``: from the URL the first time its key is seen
    on this page in this session (a refused value: the default, and a warning), else as the
    widgets left it."""
    seen = st.session_state.setdefault(f"{_SEEN}:{page}", set())
    warnings = st.session_state.setdefault(_WARN, [])
    qp = st.query_params
    for s in settings:
        if s.key in seen:
            st.session_state.setdefault(s.key, s.default)
            continue
        seen.add(s.key)
        if s.key in qp:
            raw = qp[s.key]
            try:
                st.session_state[s.key] = s.parse(raw)
                continue
            except ValueError as exc:
                shown = raw if len(raw) <= 40 else raw[:40] + "…"
                warnings.append(f"URL parameter `{s.key}={shown}` ignored: {exc}. "
                                f"Using the default ({s.encode(s.default) or 'none'}).")
        st.session_state.setdefault(s.key, s.default)


def show_warnings() -> None:
    """Show (once) the warnings about refused URL parameters."""
    for w in st.session_state.pop(_WARN, []):
        st.warning(w, icon=":material/warning:")


def values(settings: list[Setting]) -> dict[str, Any]:
    return {s.key: st.session_state.get(s.key, s.default) for s in settings}


def url_params(settings: list[Setting], current: dict[str, Any] | None = None) -> dict[str, str]:
    """The query parameters that reproduce ``current`` (default: the session's values):
    only the settings that differ from their defaults."""
    current = current if current is not None else values(settings)
    return {s.key: s.encode(current[s.key]) for s in settings
            if s.key in current and current[s.key] != s.default}


def publish(settings: list[Setting]) -> None:
    """Write the page's settings to the URL, so that the address bar is a share link."""
    params = url_params(settings)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def reset(settings: list[Setting]) -> None:
    """Back to the defaults (a button's callback)."""
    for s in settings:
        st.session_state[s.key] = s.default
