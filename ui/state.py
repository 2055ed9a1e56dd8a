"""Every setting of a page lives in the URL: a Setting knows its default, how to read it from
a query parameter (refusing bad text with a reason) and how to write it back.

One source of truth per page, its URL.  The session keeps a page's values under keys
namespaced by the page (``race:steps``; ``S.key("steps")`` on the race page), so that no page
reads another page's values.  Each time the tab *arrives* at a page (from another page, a
lesson card, a pasted link, the back button or a fresh session) the page's settings are read
from its link again, and the ones the link does not name take the page's defaults.  Settings
in ``GLOBAL_KEYS`` (presentation mode) follow the tab from page to page instead.

Flow of a page run: ``load(settings, page)`` fills ``st.session_state`` (from the URL on
arrival, refusing malformed values with a warning), widgets are keyed by ``S.key(name)``, and
``publish(settings)`` writes the non-default values back to the URL."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

_SEEN = "_url_seen"
_KEPT = "_kept"
_WRITTEN = "_url_written"
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


GLOBAL_KEYS = frozenset({"present"})
_PAGE = "_page"


def key_of(name: str, page: str | None = None) -> str:
    """The session key of the setting ``name`` of ``page`` (default: the page this run shows)."""
    if name in GLOBAL_KEYS:
        return name
    return f"{page or st.session_state.get(_PAGE, '')}:{name}"


def enter(page: str) -> None:
    """Start a run of ``page``; when the tab has just arrived there, its link is read again: it
    comes from another page, or its address is not the one this page wrote last (a link
    followed, the back button, the lesson menu)."""
    written = st.session_state.get(f"{_WRITTEN}:{page}")
    if st.session_state.get(_PAGE) == page and (written is None or written == st.query_params.to_dict()):
        return
    st.session_state[_PAGE] = page
    st.session_state[f"{_SEEN}:{page}"] = set()
    st.session_state.pop(_WARN, None)  # another page's warnings are not this one's


def follow(query: dict[str, str]) -> None:
    """Take the tab to this page's link ``query`` (a callback: the lesson menu), as a lesson card
    would: the next run arrives, reading every setting from the link, the page's defaults (and
    the lesson's fill) for the rest.  Global settings (presentation mode) stay."""
    kept = {k: st.query_params[k] for k in GLOBAL_KEYS if k in st.query_params}
    st.query_params.from_dict({**kept, **query})


def _keep(key: str, value: Any) -> None:
    """Store a value; a widget already drawn in this run holds it already (setting it would raise)."""
    try:
        st.session_state[key] = value
    except StreamlitAPIException:
        pass


def load(settings: list[Setting], page: str, fill: dict[str, Any] | None = None) -> None:
    """Put each setting of ``page`` in ``st.session_state``: on arrival from the URL (a refused
    value: the default, and a warning), a global one kept from the last page when the URL does
    not name it, the others at ``fill``'s value (a preset's) or their default; later in the
    visit as the widgets left it (kept across runs in which its widget is not drawn, since
    Streamlit forgets those)."""
    fill = fill or {}
    enter(page)
    seen = st.session_state[f"{_SEEN}:{page}"]
    kept = st.session_state.setdefault(f"{_KEPT}:{page}", {})
    warnings = st.session_state.setdefault(_WARN, [])
    qp = st.query_params
    for s in settings:
        key = key_of(s.key, page)
        if s.key in seen:
            _keep(key, st.session_state[key] if key in st.session_state else kept.get(s.key, s.default))
            continue
        seen.add(s.key)
        value = st.session_state.get(key, s.default) if s.key in GLOBAL_KEYS else fill.get(s.key, s.default)
        if s.key in qp:
            raw = qp[s.key]
            try:
                value = s.parse(raw)
            except ValueError as exc:
                shown = raw if len(raw) <= 40 else raw[:40] + "…"
                warnings.append(f"URL parameter `{s.key}={shown}` ignored: {exc}. "
                                f"Using the default ({s.encode(s.default) or 'none'}).")
        _keep(key, value)


def show_warnings() -> None:
    """Show (once) the warnings about refused URL parameters."""
    for w in st.session_state.pop(_WARN, []):
        st.warning(w, icon=":material/warning:")


def values(settings: list[Setting]) -> dict[str, Any]:
    """The current page's values of ``settings``, by setting name."""
    return {s.key: st.session_state.get(key_of(s.key), s.default) for s in settings}


def url_params(settings: list[Setting], current: dict[str, Any] | None = None) -> dict[str, str]:
    """The query parameters that reproduce ``current`` (default: the session's values):
    only the settings that differ from their defaults."""
    current = current if current is not None else values(settings)
    return {s.key: s.encode(current[s.key]) for s in settings
            if s.key in current and current[s.key] != s.default}


def publish(settings: list[Setting]) -> None:
    """Write the page's settings to the URL, so that the address bar is a share link."""
    current = values(settings)
    st.session_state.setdefault(f"{_KEPT}:{st.session_state.get(_PAGE, '')}", {}).update(current)
    params = url_params(settings, current)
    st.session_state[f"{_WRITTEN}:{st.session_state.get(_PAGE, '')}"] = params
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


class PageState:
    """``st.session_state`` as the current page sees it: ``S.steps`` and ``S["adam.lr"]`` are
    that page's values (stored under ``race:steps`` …), ``S.key("steps")`` keys its widget."""

    def key(self, name: str) -> str:
        return key_of(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return st.session_state[key_of(name)]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        st.session_state[key_of(name)] = value

    def __getitem__(self, name: str) -> Any:
        return st.session_state[key_of(name)]

    def __setitem__(self, name: str, value: Any) -> None:
        st.session_state[key_of(name)] = value

    def __contains__(self, name: str) -> bool:
        return key_of(name) in st.session_state

    def get(self, name: str, default: Any = None) -> Any:
        return st.session_state.get(key_of(name), default)

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self[name] = value


S = PageState()
