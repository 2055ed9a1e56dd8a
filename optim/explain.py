"""The course's equations of a rule with one step's numbers put in: what a student reads
next to the slide when stepping through a run.  Works on the arrays a run recorded."""

from __future__ import annotations

from typing import Mapping

import numpy as np

# One template per equation, per rule and convention; {names} are filled by ``step_values``.
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("gd", "course"): (r"W := W - \alpha\, dW = {W} - {lr} \cdot {g} = {W1}",),
    ("momentum", "course"): (
        r"v := \beta v + (1-\beta)\, dW = {beta} \cdot {v0} + {omb} \cdot {g} = {v1}",
        r"W := W - \alpha v = {W} - {lr} \cdot {v1} = {W1}",
    ),
    ("momentum", "pytorch"): (
        r"v := \beta v + dW = {beta} \cdot {v0} + {g} = {v1}",
        r"W := W - \alpha v = {W} - {lr} \cdot {v1} = {W1}",
    ),
    ("nesterov", "course"): (
        r"W - \alpha\beta v = {W} - {lr} \cdot {beta} \cdot {v0} = {look}",
        r"\nabla L(W - \alpha\beta v) = {glook}",
        r"v := \beta v + (1-\beta)\, \nabla L = {beta} \cdot {v0} + {omb} \cdot {glook} = {v1}",
        r"W := W - \alpha v = {W} - {lr} \cdot {v1} = {W1}",
    ),
    ("nesterov", "pytorch"): (
        r"v := \beta v + dW = {beta} \cdot {v0} + {g} = {v1}",
        r"W := W - \alpha (dW + \beta v) = {W} - {lr} \cdot ({g} + {beta} \cdot {v1}) = {W1}",
    ),
    ("rmsprop", "course"): (
        r"s := \beta s + (1-\beta)\, dW^2 = {beta} \cdot {s0} + {omb} \cdot {g2} = {s1}",
        r"W := W - \alpha \frac{{dW}}{{\sqrt{{s + \varepsilon}}}} = {W} - {lr} \cdot \frac{{{g}}}{{{den}}} = {W1}",
    ),
    ("adam", "course"): (
        r"v := \beta_1 v + (1-\beta_1)\, dW = {beta1} \cdot {v0} + {omb1} \cdot {g} = {v1}",
        r"s := \beta_2 s + (1-\beta_2)\, dW^2 = {beta2} \cdot {s0} + {omb2} \cdot {g2} = {s1}",
        r"t = {t}: \quad 1-\beta_1^t = {c1}, \quad 1-\beta_2^t = {c2}",
        r"\hat v = v / {c1} = {vhat}, \quad \hat s = s / {c2} = {shat}",
        r"W := W - \alpha \frac{{\hat v}}{{\sqrt{{\hat s + \varepsilon}}}} = {W} - {lr} \cdot "
        r"\frac{{{vhat}}}{{{den}}} = {W1}",
    ),
    ("adamax", "course"): (
        r"v := \beta_1 v + (1-\beta_1)\, dW = {beta1} \cdot {v0} + {omb1} \cdot {g} = {v1}",
        r"u := \max(\beta_2 u, |dW| + \varepsilon) = \max({beta2} \cdot {u0}, {absg}) = {u1}",
        r"t = {t}: \quad 1-\beta_1^t = {c1}",
        r"W := W - \frac{{\alpha}}{{1-\beta_1^t}} \frac{{v}}{{u}} = {W} - \frac{{{lr}}}{{{c1}}} \cdot "
        r"\frac{{{v1}}}{{{u1}}} = {W1}",
    ),
    ("nadam", "course"): (
        r"v := \beta_1 v + (1-\beta_1)\, dW = {beta1} \cdot {v0} + {omb1} \cdot {g} = {v1}",
        r"s := \beta_2 s + (1-\beta_2)\, dW^2 = {beta2} \cdot {s0} + {omb2} \cdot {g2} = {s1}",
        r"t = {t}: \quad 1-\beta_1^{{t+1}} = {c1n}, \quad 1-\beta_1^t = {c1}, \quad 1-\beta_2^t = {c2}",
        r"\bar v = \frac{{\beta_1 v}}{{1-\beta_1^{{t+1}}}} + \frac{{(1-\beta_1) dW}}{{1-\beta_1^t}} = {vbar}",
        r"W := W - \alpha \frac{{\bar v}}{{\sqrt{{\hat s + \varepsilon}}}} = {W} - {lr} \cdot "
        r"\frac{{{vbar}}}{{{den}}} = {W1}",
    ),
    ("adagrad", "course"): (
        r"s := s + dW^2 = {s0} + {g2} = {s1}",
        r"W := W - \alpha \frac{{dW}}{{\sqrt{{s + \varepsilon}}}} = {W} - {lr} \cdot \frac{{{g}}}{{{den}}} = {W1}",
    ),
    ("adamw", "course"): (
        r"v := \beta_1 v + (1-\beta_1)\, dW = {beta1} \cdot {v0} + {omb1} \cdot {g} = {v1}",
        r"s := \beta_2 s + (1-\beta_2)\, dW^2 = {beta2} \cdot {s0} + {omb2} \cdot {g2} = {s1}",
        r"\hat v = v / {c1} = {vhat}, \quad \hat s = s / {c2} = {shat}",
        r"W := W - \alpha \Big(\frac{{\hat v}}{{\sqrt{{\hat s + \varepsilon}}}} + \lambda W\Big) = {W} - {lr} "
        r"\cdot \Big(\frac{{{vhat}}}{{{den}}} + {weight_decay} \cdot {W}\Big) = {W1}",
    ),
}
# The ε-outside-the-root conventions differ only in the denominator, which is substituted.
for _name in ("rmsprop", "adam", "nadam", "adagrad", "adamw"):
    TEMPLATES[(_name, "pytorch")] = tuple(
        t.replace(r"\sqrt{{s + \varepsilon}}", r"\sqrt{{s}} + \varepsilon")
         .replace(r"\sqrt{{\hat s + \varepsilon}}", r"\sqrt{{\hat s}} + \varepsilon")
        for t in TEMPLATES[(_name, "course")])


def fmt(x) -> str:
    """A number, or a vector as a column, with 4 significant digits, in LaTeX."""
    a = np.atleast_1d(np.asarray(x, np.float64))
    cells = [f"{v:.4g}".replace("e", r"\mathrm{e}") for v in a]
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


def substituted(name: str, convention: str, hp: Mapping[str, float], rec: Mapping[str, np.ndarray],
                k: int) -> list[str]:
    """The rule's equations (LaTeX) with the numbers of update k → k + 1 substituted."""
    vals = step_values(name, convention, hp, rec, k)
    shown = {key: fmt(v) if not isinstance(v, int) else str(v) for key, v in vals.items()}
    return [tpl.format(**shown) for tpl in TEMPLATES[(name, convention)]]
