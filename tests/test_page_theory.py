"""The race page's theory panel under AppTest: the predicted and measured rates it shows agree on
the quadratic, the buttons set the optimal (or a diverging) setting before the sliders are drawn,
the divergence it announces happens at the step it names, and the stability map's dots sit at αλ
for every eigenvalue and move with the learning rate."""

import re

import numpy as np
import pytest
from helpers import run_page, shown

from optim import theory as T


def page(**query):
    return run_page("race", 180, **query)


def spec(at, meta_prefix: str) -> dict:
    for c in shown(at):
        s = c.fig
        if any(str(t.get("meta", "")).startswith(meta_prefix) for t in s["data"]):
            return s
    raise AssertionError(f"no figure with a trace {meta_prefix}")


def arr(v) -> np.ndarray:
    if isinstance(v, dict):
        import base64
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(np.float64)
    return np.asarray(v, np.float64)


def dots(at, name: str) -> np.ndarray:
    s = spec(at, "dots:")
    return np.sort(np.concatenate([arr(t["x"]) for t in s["data"] if t.get("meta") == f"dots:{name}"]))


def rate_rows(at) -> dict:
    table = next(m.value for m in at.markdown if "| optimizer | predicted ρ | measured ρ |" in m.value)
    rows = {}
    for line in table.splitlines():
        m = re.match(r"\| (.+?) \| (\S+) \| (\S+) \|$", line)
        if m and m.group(1) != "optimizer":
            rows[m.group(1)] = tuple(None if v == "—" else float(v) for v in m.groups()[1:])
    return rows


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_the_panel_on_the_default_bowl():
    at = page()
    assert not at.exception
    assert any("f is a quadratic: the theory is exact" in m.value and "κ = 20" in m.value for m in at.markdown)
    rows = rate_rows(at)
    for label in ("Gradient descent", "Momentum"):
        pred, meas = rows[label]
        assert meas == pytest.approx(pred, rel=0.05), label
    assert rows["Adam"][0] is None and rows["Adam"][1] is not None  # no theory for Adam: measured only
    # GD at α = 0.01 on eigenvalues 1 and 20: dots at αλ = 0.01 and 0.2, on the β = 0 row
    assert dots(at, "gd") == pytest.approx([0.01, 0.2], rel=1e-6)
    env = spec(at, "envelope:")
    assert {t["meta"] for t in env["data"] if t.get("meta")} == {"envelope:gd", "envelope:momentum"}
    # the eigenvectors at the start, on the race figure: the steep one labelled with λ = 20
    race = next(c.fig for c in shown(at) if c.fig.get("frames"))
    texts = [a.get("text", "") for a in race["layout"].get("annotations", [])]
    assert "λ = 20 (steep)" in texts and "λ = 1 (flat)" in texts


def test_the_optimal_buttons_set_the_best_slider_values():
    at = page(opts="gd,momentum,nesterov")
    at = button(at, "Gradient descent: set α*").click().run()
    assert at.sidebar.select_slider(key="race:gd.lr").value == 0.07
    assert dots(at, "gd") == pytest.approx([0.07, 1.4], rel=1e-6)
    at = button(at, "Momentum: set α*, β*").click().run()
    at = button(at, "Nesterov (NAG): set α*, β*").click().run()
    assert not at.exception
    for name in ("momentum", "nesterov"):
        lr = at.sidebar.select_slider(key=f"race:{name}.lr").value
        beta = at.sidebar.select_slider(key=f"race:{name}.beta").value
        best = T.best_on_grid(name, 1.0, 20.0, [lr], [beta])
        o = T.optimal(name, 1.0, 20.0)
        assert best.rate < 1.2 * o.rate  # the sliders' best is near the exact optimum's rate
        assert str(at.query_params[f"{name}.lr"]).strip("[]'") == f"{lr:g}"
    rows = rate_rows(at)
    for label in ("Gradient descent", "Momentum", "Nesterov (NAG)"):
        pred, meas = rows[label]
        assert meas == pytest.approx(pred, rel=0.05), (label, rows)
    # faster than at the defaults: the optimal settings beat α = 0.01
    assert rows["Gradient descent"][1] < 0.95 and rows["Momentum"][1] < 0.8


def test_past_the_limit_diverges_at_the_step_the_page_names():
    at = page(opts="gd")
    at = button(at, "Gradient descent: α past the limit").click().run()
    assert at.sidebar.select_slider(key="race:gd.lr").value == 0.15  # the smallest slider value above 2/L = 0.1
    note = next(m.value for m in at.markdown if "above the stability limit" in m.value)
    predicted = int(re.search(r"Predicted divergence at step (\d+)", note).group(1))
    diverged = int(re.search(r"the run diverged at step (\d+)", note).group(1))
    assert "as predicted" in note and abs(predicted - diverged) <= 2
    table = at.dataframe[0].value
    assert f"diverged at step {diverged}" in table["outcome"][0]
    # the dot of the steep direction sits in the diverging region
    steep = dots(at, "gd")[-1]
    assert steep == pytest.approx(3.0) and T.region_at("gd", steep) == T.DIVERGING


def test_a_non_quadratic_surface_gets_a_local_map():
    at = page(surface="rosenbrock", opts="gd,momentum", steps="2000", **{"gd.lr": "0.001", "momentum.lr": "0.001"})
    assert not at.exception
    assert any("The theory is **local** here" in m.value for m in at.markdown)
    m = spec(at, "dots:")
    assert "local" in m["layout"]["title"]["text"]
    symbols = {t["marker"]["symbol"] for t in m["data"] if t.get("meta") == "dots:gd"}
    assert symbols == {"circle", "diamond"}  # the start's Hessian and the minimum's


def test_a_saddle_and_the_theory_off():
    at = page(surface="saddle", opts="gd")
    assert not at.exception
    assert any("**saddle**" in m.value for m in at.markdown)
    assert any("have no dot" in c.value for c in at.caption)
    at = at.toggle(key="race:theory").set_value(False).run()
    assert not at.exception
    assert not any(str(t.get("meta", "")).startswith("dots:")
                   for c in shown(at) for t in c.fig["data"])
    assert str(at.query_params["theory"]).strip("[]'") == "0"


def test_the_pytorch_convention_is_drawn_at_the_courses_alpha():
    at = page(opts="momentum", **{"momentum.convention": "pytorch", "momentum.lr": "0.01", "momentum.beta": "0.9"})
    assert dots(at, "momentum") == pytest.approx([0.1, 2.0], rel=1e-5)  # α / (1 − β) = 0.1
    pred, meas = rate_rows(at)["Momentum"]
    assert meas == pytest.approx(pred, rel=0.05)


def test_a_schedule_or_noise_has_no_prediction():
    at = page(opts="gd", sched="time")
    assert rate_rows(at)["Gradient descent"][0] is None
    at = page(opts="gd", noise="0.5")
    assert rate_rows(at)["Gradient descent"][0] is None


def test_a_typed_quadratic_gets_the_exact_theory_at_its_own_minimum():
    at = page(surface="custom", formula="(x - 1)**2 + 10*(y + 0.5)**2", opts="gd,momentum",
              **{"gd.lr": "0.05", "momentum.lr": "0.05"})
    assert not at.exception
    assert any("f is a quadratic: the theory is exact" in m.value and "κ = 10" in m.value for m in at.markdown)
    rows = rate_rows(at)
    for label in ("Gradient descent", "Momentum"):
        pred, meas = rows[label]
        assert pred is not None and meas == pytest.approx(pred, rel=0.05), (label, rows)
    assert rows["Gradient descent"][0] == pytest.approx(T.worst_rate("gd", {"lr": 0.05}, 2.0, 20.0), rel=1e-3)
