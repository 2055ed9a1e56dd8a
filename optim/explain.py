"""The course's equations of a rule with one step's numbers put in: what a student reads
next to the slide when stepping through a run.  Works on the arrays a run recorded."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from optim.rules import get_optimizer


def chain(formula: str, *terms: str, result: str) -> tuple[str, ...]:
    """The rows of an update: its formula, then its terms with the numbers put in, one vector
    each (the first after "=", the others indented under it), then the new value on its own
    row.  ``&`` aligns the rows at their "=": KaTeX never breaks a line, and a row wider than
    a phone's column would hide its end, where the new value is."""
    return (formula, "&= " + terms[0], *(r"&\quad " + t for t in terms[1:]), "&= " + result)


# One template per equation, per rule and convention: a tuple of rows; {names} are filled by
# ``step_values``.
V_ADAM = chain(r"v &:= \beta_1 v + (1-\beta_1)\, dW", r"{beta1} \cdot {v0}", r"+ {omb1} \cdot {g}", result="{v1}")
S_ADAM = chain(r"s &:= \beta_2 s + (1-\beta_2)\, dW^2", r"{beta2} \cdot {s0}", r"+ {omb2} \cdot {g2}",
               result="{s1}")
HATS = (r"\hat v &= v / {c1} = {vhat}", r"\hat s &= s / {c2} = {shat}")
W_MOMENTUM = chain(r"W &:= W - \alpha v", "{W}", r"- {lr} \cdot {v1}", result="{W1}")
V_PYTORCH = chain(r"v &:= \beta v + dW", r"{beta} \cdot {v0}", "+ {g}", result="{v1}")


def w_adaptive(top: str, den: str, num: str) -> tuple[str, ...]:
    """W := W − α top / √(den + ε), the numbers ``num`` over the denominator's (doubled braces:
    the rows are format templates)."""
    formula = r"W &:= W - \alpha \frac{{" + top + r"}}{{\sqrt{{" + den + r" + \varepsilon}}}}"
    return chain(formula, "{W}", r"- {lr} \cdot \frac{{" + num + "}}{{{den}}}", result="{W1}")


TEMPLATES: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("gd", "course"): (chain(r"W &:= W - \alpha\, dW", "{W}", r"- {lr} \cdot {g}", result="{W1}"),),
    ("momentum", "course"): (
        chain(r"v &:= \beta v + (1-\beta)\, dW", r"{beta} \cdot {v0}", r"+ {omb} \cdot {g}", result="{v1}"),
        W_MOMENTUM,
    ),
    ("momentum", "pytorch"): (V_PYTORCH, W_MOMENTUM),
    ("nesterov", "course"): (
        # the look-ahead point has no name to the left of "=": its rows start at the left edge
        chain(r"&W - \alpha\beta v", "{W}", r"- {lr} \cdot {beta} \cdot {v0}", result="{look}"),
        (r"\nabla L(W - \alpha\beta v) = {glook}",),
        chain(r"v &:= \beta v + (1-\beta)\, \nabla L", r"{beta} \cdot {v0}", r"+ {omb} \cdot {glook}",
              result="{v1}"),
        W_MOMENTUM,
    ),
    ("nesterov", "pytorch"): (
        V_PYTORCH,
        chain(r"W &:= W - \alpha (dW + \beta v)", "{W}", r"- {lr} \cdot \left({g} \right.",
              r"\qquad \left. {{}} + {beta} \cdot {v1} \right)", result="{W1}"),
    ),
    ("rmsprop", "course"): (
        chain(r"s &:= \beta s + (1-\beta)\, dW^2", r"{beta} \cdot {s0}", r"+ {omb} \cdot {g2}", result="{s1}"),
        w_adaptive("dW", "s", "{g}"),
    ),
    ("adam", "course"): (
        V_ADAM, S_ADAM,
        (r"t = {t}: \quad 1-\beta_1^t &= {c1}", r"1-\beta_2^t &= {c2}"),
        HATS,
        w_adaptive(r"\hat v", r"\hat s", "{vhat}"),
    ),
    ("adamax", "course"): (
        V_ADAM,
        chain(r"u &:= \max(\beta_2 u, |dW| + \varepsilon)", r"\max\left({beta2} \cdot {u0}, \right.",
              r"\qquad \left. {absg} \right)", result="{u1}"),
        (r"t = {t}: \quad 1-\beta_1^t = {c1}",),
        chain(r"W &:= W - \frac{{\alpha}}{{1-\beta_1^t}} \frac{{v}}{{u}}", "{W}",
              r"- \frac{{{lr}}}{{{c1}}} \cdot \frac{{{v1}}}{{{u1}}}", result="{W1}"),
    ),
    ("nadam", "course"): (
        V_ADAM, S_ADAM,
        (r"t = {t}: \quad 1-\beta_1^{{t+1}} &= {c1n}", r"1-\beta_1^t &= {c1}", r"1-\beta_2^t &= {c2}"),
        (r"\bar v &= \frac{{\beta_1 v}}{{1-\beta_1^{{t+1}}}} + \frac{{(1-\beta_1) dW}}{{1-\beta_1^t}}", r"&= {vbar}"),
        w_adaptive(r"\bar v", r"\hat s", "{vbar}"),
    ),
    ("adagrad", "course"): (
        chain(r"s &:= s + dW^2", "{s0}", "+ {g2}", result="{s1}"),
        w_adaptive("dW", "s", "{g}"),
    ),
    ("adamw", "course"): (
        V_ADAM, S_ADAM, HATS,
        chain(r"W &:= W - \alpha \Big(\frac{{\hat v}}{{\sqrt{{\hat s + \varepsilon}}}} + \lambda W\Big)", "{W}",
              r"- {lr} \cdot \left(\frac{{{vhat}}}{{{den}}} \right.",
              r"\qquad \left. {{}} + {weight_decay} \cdot {W} \right)", result="{W1}"),
    ),
}
# The ε-outside-the-root conventions differ only in the denominator, which is substituted.
for _name in ("rmsprop", "adam", "nadam", "adagrad", "adamw"):
    TEMPLATES[(_name, "pytorch")] = tuple(
        tuple(row.replace(r"\sqrt{{s + \varepsilon}}", r"\sqrt{{s}} + \varepsilon")
              .replace(r"\sqrt{{\hat s + \varepsilon}}", r"\sqrt{{\hat s}} + \varepsilon") for row in eq)
        for eq in TEMPLATES[(_name, "course")])


def number(v: float) -> str:
    """A number with 4 significant digits in LaTeX, a power of ten written as one: −1.234×10⁻⁵
    (braces keep × from being spaced as an operator); ∞ and NaN as words of the course."""
    if not np.isfinite(v):
        return r"\text{NaN}" if np.isnan(v) else ("-" if v < 0 else "") + r"\infty"
    text = f"{v:.4g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa}{{\times}}10^{{{int(exponent)}}}"


def fmt(x) -> str:
    """A number, or a vector as a column, with 4 significant digits, in LaTeX."""
    a = np.atleast_1d(np.asarray(x, np.float64))
    cells = [number(v) for v in a]
    if len(cells) == 1:
        return cells[0]
    return r"\begin{pmatrix}" + r" \\ ".join(cells) + r"\end{pmatrix}"


def step_values(name: str, convention: str, hp: Mapping[str, float], rec: Mapping[str, np.ndarray],
                k: int) -> dict[str, np.ndarray | float]:
    """The quantities of update k → k + 1 (t = k + 1) from a run's recorded arrays: params,
    grads, lr and ``state.<field>``.  Nesterov's look-ahead gradient is recovered from v."""
    W, W1, g = rec["params"][k], rec["params"][k + 1], rec["grads"][k]
    t = k + 1
    vals: dict = {"W": W, "W1": W1, "g": g, "g2": g * g, "absg": np.abs(g) + hp.get("eps", 0.0),
                  "lr": float(rec["lr"][k]), "t": t, "step": W1 - W}
    for key in ("beta", "beta1", "beta2", "eps", "weight_decay"):
        if key in hp:
            vals[key] = float(hp[key])
    for f in ("v", "s", "u"):
        if f"state.{f}" in rec:
            vals[f"{f}0"], vals[f"{f}1"] = rec[f"state.{f}"][k], rec[f"state.{f}"][k + 1]
    if "beta" in hp:
        vals["omb"] = 1 - hp["beta"]
    if "beta1" in hp:
        b1, b2 = hp["beta1"], hp["beta2"]
        vals.update(omb1=1 - b1, omb2=1 - b2, c1=1 - b1**t, c2=1 - b2**t, c1n=1 - b1 ** (t + 1))
        if "v1" in vals:
            vals["vhat"] = vals["v1"] / vals["c1"]
        if "s1" in vals:
            vals["shat"] = vals["s1"] / vals["c2"]
            vals["vbar"] = b1 * vals["v1"] / vals["c1n"] + (1 - b1) * g / vals["c1"]
    s_for_den = vals.get("shat", vals.get("s1"))
    if s_for_den is not None and "eps" in hp:
        vals["den"] = (np.sqrt(s_for_den + hp["eps"]) if convention == "course"
                       else np.sqrt(s_for_den) + hp["eps"])
    if name == "nesterov" and convention == "course":
        beta = hp["beta"]
        vals["look"] = W - vals["lr"] * beta * vals["v0"]
        vals["glook"] = (vals["v1"] - beta * vals["v0"]) / (1 - beta) if beta < 1 else np.full_like(g, np.nan)
    return vals


def aligned(rows: tuple[str, ...]) -> str:
    """One equation in LaTeX: a single row as it is, several rows stacked in an aligned block."""
    if len(rows) == 1:
        return rows[0]
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def substituted(name: str, convention: str, hp: Mapping[str, float], rec: Mapping[str, np.ndarray],
                k: int) -> list[str]:
    """The rule's equations (LaTeX, one string per equation, each row short enough for a narrow
    column) with the numbers of update k → k + 1 substituted."""
    if (name, convention) not in TEMPLATES:  # a rule without numbered templates: its equations as they are
        return list(get_optimizer(name).with_options(convention=convention).equations)
    vals = step_values(name, convention, hp, rec, k)
    shown = {key: fmt(v) if not isinstance(v, int) else str(v) for key, v in vals.items()}
    return [aligned(tuple(row.format(**shown) for row in eq)) for eq in TEMPLATES[(name, convention)]]
