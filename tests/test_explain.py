"""optim/explain.py: the step-through equations.  Every rule and convention: the numbers are the
run's, the new values are on their own rows, and no row is wider than a phone's column (KaTeX
does not break lines: a wider row hides its end, where the new value is)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from optim import OPTIMIZERS, run
from optim.explain import TEMPLATES, fmt, step_values, substituted
from surfaces import SURFACES

# A phone's column (358 pixels at 390) holds ~33 characters of KaTeX's display font (measured
# in Chromium: a row of 38.8 is 420 pixels wide).
MAX_ROW = 33
CASES = sorted(TEMPLATES)
OPERATORS = set("=+-<>:") | {r"\cdot", r"\times"}
SPACES = {r"\,": 0.2, r"\;": 0.3, r"\quad": 1, r"\qquad": 2, " ": 0}
SIZES = {r"\left", r"\right", r"\big", r"\Big", r"\bigg", r"\Big(", r"\mathrm"}


def _group(tex: str, i: int) -> tuple[str, int]:
    """The brace group starting at tex[i] == "{" (its content, the index after it)."""
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1: j], j + 1
    raise AssertionError(f"unbalanced braces in {tex!r}")


def _command(tex: str, i: int) -> tuple[str, int]:
    m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
    return m.group(0), i + len(m.group(0))


def width(tex: str) -> float:
    """Characters a row of LaTeX shows once rendered: a column vector as wide as its widest
    entry plus its parentheses, a fraction as its wider part, an exponent at 0.7 of a character,
    spacing commands as spaces; a binary operator or a relation counts 2 (the spaces around it),
    a sign (a minus after an opening or an operator) 1."""
    w, i, after_operand = 0.0, 0, False
    while i < len(tex):
        if tex.startswith(r"\begin{pmatrix}", i):
            end = tex.index(r"\end{pmatrix}", i)
            cells = tex[i + len(r"\begin{pmatrix}"): end].split(r"\\")
            w, i = w + 2 + max(width(c) for c in cells), end + len(r"\end{pmatrix}")
        elif tex.startswith(r"{\times}", i):  # braced: an ordinary symbol, not spaced
            w, i = w + 1, i + len(r"{\times}")
        elif tex.startswith(r"\frac", i):
            num, i = _group(tex, i + 5)
            den, i = _group(tex, i)
            w += max(width(num), width(den))
        elif tex[i] in "^_":
            script, i = _group(tex, i + 1) if tex[i + 1] == "{" else (tex[i + 1], i + 2)
            w += 0.7 * width(script)
        elif tex[i] == "\\":
            cmd, i = _command(tex, i)
            if cmd in SPACES or cmd in SIZES:
                w += SPACES.get(cmd, 0)
                continue
            w += 2 if cmd in OPERATORS else 3 if cmd in (r"\max", r"\min") else 1
        elif tex[i] in "{}& ":
            i += 1
            continue
        else:
            w += 2 if tex[i] in OPERATORS and after_operand else 1
            i += 1
        after_operand = tex[i - 1].isalnum() or tex[i - 1] in ")}|."
    return w


def rows_of(equation: str) -> list[str]:
    """The rows of an equation: the parts of an aligned block (not a vector's entries)."""
    if not equation.startswith(r"\begin{aligned}"):
        return [equation]
    body = equation[len(r"\begin{aligned}"): -len(r"\end{aligned}")]
    masked = re.sub(r"\\begin\{pmatrix\}.*?\\end\{pmatrix\}", lambda m: "#" * len(m.group(0)), body)
    cuts = [m.start() for m in re.finditer(r"\\\\", masked)]
    bounds = [0, *[c + 2 for c in cuts]]
    return [body[a: (cuts[k] if k < len(cuts) else len(body))] for k, a in enumerate(bounds)]


def wide_record(k: int = 1) -> dict[str, np.ndarray]:
    """A recorded run whose every number takes the widest form fmt writes (−1.234e−05)."""
    wide = np.full((k + 2, 2), -1.2345e-5)
    return {"params": wide, "grads": wide, "lr": np.full(k + 1, 1.2345e-3), "state.v": wide,
            "state.s": np.abs(wide), "state.u": np.abs(wide)}


def hp_of(name: str) -> dict[str, float]:
    return {**OPTIMIZERS[name].defaults, "eps": 1.2345e-8}


def test_width_counts_what_katex_shows():
    assert width(r"W &:= W - \alpha v") == 9  # W, :, =, W, −, α, v; = and − spaced
    assert width(fmt([-1.2345e-5, 0.5])) == pytest.approx(2 + 6 + 1 + 2 + 0.7 * 2)  # (−1.234×10⁻⁵ over 0.5)
    assert width(r"\frac{{1}}{{\sqrt{{s}} + \varepsilon}}".format()) == 5
    row = r"\begin{aligned}a &= 1 \\ b &= \begin{pmatrix}1 \\ 2\end{pmatrix}\end{aligned}"
    assert rows_of(row) == ["a &= 1 ", r" b &= \begin{pmatrix}1 \\ 2\end{pmatrix}"]


def equation_width(eq: str) -> float:
    """An aligned block is as wide as its widest left part (before ``&``) plus its widest right
    part: every row starts its right part at the same place."""
    parts = [row.split("&", 1) if "&" in row else [row, ""] for row in rows_of(eq)]
    return max(width(left) for left, _ in parts) + max(width(right) for _, right in parts)


@pytest.mark.parametrize("name,convention", CASES)
def test_no_row_is_wider_than_a_phone_column(name, convention):
    for eq in substituted(name, convention, hp_of(name), wide_record(), 1):
        assert equation_width(eq) <= MAX_ROW, f"{equation_width(eq)} characters: {eq}"


@pytest.mark.parametrize("name,convention", CASES)
def test_the_new_values_are_the_runs_and_stand_on_their_own_row(name, convention):
    s = SURFACES["rosenbrock"]
    hp = OPTIMIZERS[name].defaults
    tr = run(name, s.grad, s.start, 4, loss_fn=s.f, convention=convention, **hp)
    rec = {"params": np.asarray(tr.params), "grads": np.asarray(tr.grads), "lr": np.asarray(tr.lr),
           **{f"state.{f}": np.asarray(v) for f, v in tr.state._asdict().items()}}
    eqs = substituted(name, convention, hp, rec, 2)
    names = step_values(name, convention, hp, rec, 2)
    assert not any("{" + key + "}" in eq for key in names for eq in eqs), "a name was left unsubstituted"
    last = rows_of(eqs[-1])
    assert last[0].startswith("W") and last[-1].strip() == "&= " + fmt(rec["params"][3])
    for field in ("v", "s", "u"):
        update = [rows_of(e) for e in eqs if e.startswith(r"\begin{aligned}" + field + " &:=")]
        if f"state.{field}" in rec and update:
            assert update[0][-1].strip() == "&= " + fmt(rec[f"state.{field}"][3])


def test_a_one_row_equation_is_left_as_it_is():
    eqs = substituted("adamax", "course", hp_of("adamax"), wide_record(), 1)
    single = [e for e in eqs if e.startswith("t = 2")]
    assert single and r"\begin" not in single[0] and "&" not in single[0]
