"""The lesson menu and the claim box of every page that has lessons (lessons/<page>.py): the
menu sets the whole page, the box states the lesson's claim and whether the runs on the page
bear it out."""

from __future__ import annotations

from typing import Mapping

import streamlit as st

from lessons import Lesson, Verdict
from ui import state
from ui.state import S, Setting

FREE = "free"


def preset_setting(lessons: Mapping[str, Lesson], default: str = FREE) -> Setting:
    """The page's ``preset`` setting: one of its lessons, or free exploration."""
    return Setting("preset", default, "choice", choices=(FREE, *lessons))


def lesson_menu(lessons: Mapping[str, Lesson], container=st) -> str:
    """The lesson picker (keyed by the ``preset`` setting).  Choosing a lesson follows its link,
    as its home card does: the whole page is set from it, the page's defaults for the rest."""
    def follow():
        if S.preset != FREE:
            state.follow(lessons[S.preset].query())

    return container.selectbox(
        "lesson", (FREE, *lessons), key=S.key("preset"), on_change=follow,
        format_func=lambda k: "— free exploration —" if k == FREE else lessons[k].title,
        help="Each lesson sets the whole page; change anything afterwards and see if its claim still holds.")


def claim_box(lesson: Lesson, verdict: Verdict, changed: bool, container=None, label: str = "Lesson") -> None:
    """The lesson's title and claim, then ✓ or ✗ with the measured numbers (or what is missing to
    measure it); ``changed``: the runs are not the lesson's own, and the box says so."""
    box = container if container is not None else st.container(border=True)
    box.markdown(f"**{label} · {lesson.title}.** {lesson.claim}")
    mine = " — measured with your changes to the lesson" if changed else ""
    if verdict.holds is None:
        box.info(verdict.detail[0].upper() + verdict.detail[1:] + ".", icon=":material/info:")
    elif verdict.holds:
        box.success(f"✓ The claim holds in these runs: {verdict.detail}{mine}.")
    else:
        box.warning(f"✗ The claim does not hold with these settings: {verdict.detail}{mine}.")


def changed(lesson: Lesson, settings: list[Setting], used=(), ignore=()) -> bool:
    """Whether the page's values differ from the lesson's (its own, else the page's defaults) among
    the settings its runs depend on: the plain ones not in ``ignore``, and the dotted ones
    (``adam.lr``, ``d.time.k``) whose prefix is in ``used`` (the chosen optimizers, schedules)."""
    def counts(key: str) -> bool:
        return key.rsplit(".", 1)[0] in used if "." in key else key not in ignore

    current = {k: v for k, v in state.values(settings).items() if counts(k)}
    return bool(lesson.changes(current, {s.key: s.default for s in settings}))
