"""What every lesson is: a configuration of one page (its URL parameters), the text of its card
on the home page, the claim its page shows, and the check that measures that claim on the runs
the page made.  Each page's module (``lessons/race.py`` …) documents what its checks read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple


class Verdict(NamedTuple):
    """Whether the claim holds on these runs (None: the runs it compares are not all there),
    and the measured numbers that say so."""

    holds: bool | None
    detail: str


def encode(value: Any) -> str:
    """A setting's value as URL text, as ``ui.state.Setting.encode`` writes it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass(frozen=True, eq=False)
class Lesson:
    """One lesson of one page.

    ``settings``: the page's settings the lesson names (setting key → value as its widget holds
    it); every other setting of the page keeps the page's default.  ``check(runs, …)`` measures
    ``claim`` on the runs the page made from these settings (or from the user's changes to them)."""

    key: str
    title: str
    text: str
    page: str  # the page's url path: "race", "decay", …
    settings: Mapping[str, Any]
    claim: str
    check: Callable[..., Verdict] = field(repr=False)

    def query(self) -> dict[str, str]:
        """The lesson's link: the page's lesson menu set to it, and every setting it names."""
        return {"preset": self.key, **{k: encode(v) for k, v in self.settings.items()}}

    def values(self, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """The whole configuration: ``defaults`` (the page's), overridden by the lesson's settings."""
        return {**defaults, **self.settings}

    def changes(self, current: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
        """The settings of ``current`` whose value is not the lesson's (its own, else the default)."""
        expected = self.values(defaults)
        return [k for k, v in current.items() if k in expected and not _same(v, expected[k])]

    def verdict(self, *runs: Any) -> Verdict:
        """The check of the claim on ``runs`` (what they are: see the page's lessons module)."""
        return self.check(*runs)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return list(a) == list(b)
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-9 * max(abs(float(a)), abs(float(b)), 1e-300)
        except (TypeError, ValueError):
            return False
    return a == b


def missing(runs: Mapping[str, Any], needed: tuple[str, ...], label: Callable[[str], str] = str) -> Verdict | None:
    """A Verdict(None, …) naming the runs the claim compares that are absent, or None."""
    absent = [n for n in needed if n not in runs]
    if absent:
        return Verdict(None, "the claim compares " + ", ".join(map(label, needed)) + ": add "
                       + ", ".join(map(label, absent)))
    return None
