"""The tuning page under Streamlit's AppTest: defaults, the classic lesson, a full configuration
from the URL, a malformed URL, a refused range, and the link to the race page (its query string,
read by the race page itself, gives the cell's values)."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from helpers import shown
from streamlit.testing.v1 import AppTest

from lessons.tuning import LESSONS
from surfaces import SURFACES

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "tuning.py")
RACE = str(ROOT / "app_pages" / "race.py")


def page(path=PAGE, **query) -> AppTest:
    at = AppTest.from_file(path, default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def specs(at) -> dict:
    return {c.id: c.spec for c in shown(at)}


def sweep_spec(at) -> dict:
    return next(json.loads(s) for s in specs(at).values() if '"cells"' in s)


def link(at):
    return at.get("link_button")[0].proto


def medians(at) -> tuple[float, float]:
    text = next(m.value for m in at.markdown if m.value.startswith("Median best"))
    g, r = re.search(r"grid ([-\d.e+]+)\*\*, \*\*random ([-\d.e+]+)", text).groups()
    return float(g), float(r)


def test_defaults():
    at = page()
    assert not at.exception and not at.error and not at.warning
    assert len(shown(at)) == 3  # sweep, trials, best so far
    assert all(len(s) < 1_000_000 for s in specs(at).values())
    sw = sweep_spec(at)
    assert len(sw["data"][0]["x"]["bdata"]) > 0
    assert at.sidebar.selectbox(key="tuning:opt").value == "adam"
    assert (at.sidebar.selectbox(key="tuning:hx").value, at.sidebar.selectbox(key="tuning:hy").value) == ("lr", "beta2")
    assert any(m.value.startswith("**Best cell**") for m in at.markdown)
    assert link(at).url.startswith("race?surface=beale&opts=adam&steps=300")
    assert medians(at)
    assert dict(at.query_params) == {}  # defaults are not written to the URL


@pytest.mark.parametrize("name", sorted(SURFACES) + ["logistic-data"])
def test_every_surface(name):
    at = page(surface=name, n="16", steps="50", seeds="5", budget="4", metric="steps")
    assert not at.exception, at.exception
    assert not at.error and len(shown(at)) == 3
    assert at.sidebar.selectbox(key="tuning:surface").value == name


def test_the_classic_lesson_shows_random_search_winning_and_its_claim_holding():
    at = page(seeds="30")
    assert not at.success  # free exploration: no claim
    at = at.sidebar.selectbox(key="tuning:preset").set_value("classic").run()
    assert not at.exception
    assert any(LESSONS["classic"].claim in m.value for m in at.markdown)
    assert [m.value[:1] for m in at.success] == ["✓"] and "your changes" not in at.success[0].value
    assert at.number_input(key="tuning:seeds").value == 50  # the lesson's seeds, not the link's 30
    sb = at.sidebar
    assert (sb.selectbox(key="tuning:surface").value, sb.selectbox(key="tuning:opt").value) == ("bowl", "rmsprop")
    assert (sb.selectbox(key="tuning:hx").value, sb.selectbox(key="tuning:hy").value) == ("lr", "eps")
    assert sb.number_input(key="tuning:yhi").value == pytest.approx(1e-2)
    g, r = medians(at)
    assert r < g
    assert str(at.query_params["surface"]) in ("bowl", "['bowl']")
    # fewer seeds: the comparison is measured again, and the box says the settings are not the lesson's
    at = at.number_input(key="tuning:seeds").set_value(10).run()
    assert any("your changes" in m.value for m in [*at.success, *at.warning])


def test_a_query_string_sets_the_whole_page():
    at = page(surface="bowl", opt="momentum", hx="beta", hy="lr", xlo="0.5", xhi="0.99", ylo="0.001", yhi="0.5",
              n="16", steps="100", metric="steps", tol="0.01", budget="9", seeds="10", shift="0", tseed="3",
              pick="0.9,0.01", x0="1", y0="1", **{"momentum.convention": "pytorch"})
    assert not at.exception and not at.warning and not at.error
    sb = at.sidebar
    assert (sb.selectbox(key="tuning:hx").value, sb.selectbox(key="tuning:hy").value) == ("beta", "lr")
    assert sb.number_input(key="tuning:xlo").value == 0.5 and sb.number_input(key="tuning:yhi").value == 0.5
    assert sb.select_slider(key="tuning:n").value == 16 and sb.select_slider(key="tuning:steps").value == 100
    assert at.radio(key="tuning:metric").value == "steps" and at.toggle(key="tuning:shift").value is False
    assert at.number_input(key="tuning:tseed").value == 3 and at.select_slider(key="tuning:budget").value == 9
    sw = sweep_spec(at)
    assert "steps" in sw["data"][0]["colorbar"]["title"]["text"]
    picked = next(m.value for m in at.markdown if m.value.startswith("**Picked cell**"))
    assert "β = 0.9" in picked
    q = dict(parse_qsl(urlsplit(link(at).url).query))
    assert q["momentum.convention"] == "pytorch" and q["x0"] == "1" and q["steps"] == "100"
    assert any("seed 3" in m.value.lower() for m in at.markdown)
    at = sb.select_slider(key="tuning:n").set_value(24).run()  # the page writes its settings back
    assert str(at.query_params["n"]) in ("24", "['24']")
    assert str(at.query_params["pick"]) in ("0.9,0.01", "['0.9,0.01']")


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(surface="nowhere", n="many", opt="evil", steps="-1", seeds="1000", tol="nan", pick="a,b",
              xlo="-3", present="maybe")
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("surface", "n", "opt", "steps", "seeds", "tol", "xlo"):
        assert f"`{key}=" in texts, key
    assert "`pick=a,b` is not two numbers" in texts
    assert at.sidebar.selectbox(key="tuning:surface").value == "beale"
    assert len(shown(at)) == 3


def test_a_hyperparameter_the_optimizer_lacks_is_replaced():
    at = page(opt="momentum", hx="beta2", hy="eps", n="16", steps="50")
    assert not at.exception
    assert (at.sidebar.selectbox(key="tuning:hx").value, at.sidebar.selectbox(key="tuning:hy").value) == ("lr", "beta")


def test_a_reversed_range_is_an_error_message_not_an_exception():
    at = page(xlo="0.5", xhi="0.01")
    assert not at.exception
    assert at.error and "low < high" in at.error[0].value
    assert not shown(at)


def test_switching_optimizer_resets_the_axes_to_its_hyperparameters():
    at = page(n="16", steps="50", xlo="0.001", xhi="0.1")
    at = at.sidebar.selectbox(key="tuning:opt").set_value("adagrad").run()
    assert not at.exception
    assert (at.sidebar.selectbox(key="tuning:hx").value, at.sidebar.selectbox(key="tuning:hy").value) == ("lr", "eps")
    assert at.sidebar.number_input(key="tuning:xhi").value == 2.0  # the registry's range again
    at = at.sidebar.selectbox(key="tuning:hx").set_value("eps").run()
    assert (at.sidebar.selectbox(key="tuning:hx").value, at.sidebar.selectbox(key="tuning:hy").value) == ("eps", "lr")
    assert at.sidebar.number_input(key="tuning:xlo").value == pytest.approx(1e-12)


def test_a_data_model_sweeps_but_does_not_link_to_the_race():
    at = page(surface="linear-data", opt="momentum", n="16", steps="50")
    assert not at.exception and not at.error
    assert link(at).disabled
    assert "linear" in at.subheader[0].value


def test_a_128_by_128_sweep_is_cached_chunked_and_under_a_megabyte():
    at = page(n="128", steps="50", surface="bowl")
    assert not at.exception
    assert "16,384 runs × 50 steps in 16 jitted calls" in at.caption[1].value
    assert len(next(s for s in specs(at).values() if '"cells"' in s)) < 1_000_000
    at.run()
    assert "(from the cache)" in at.caption[1].value


@pytest.mark.parametrize("query", [
    {"surface": "rosenbrock", "opt": "adam", "hx": "lr", "hy": "beta1", "pick": "0.0123,0.937"},
    {"surface": "himmelblau", "opt": "nesterov", "hx": "beta", "hy": "lr", "pick": "0.95,0.0042",
     "nesterov.convention": "pytorch", "x0": "1.5", "y0": "-2"},
    {"surface": "bowl", "opt": "rmsprop", "hx": "lr", "hy": "eps"},  # the best cell
])
def test_the_race_link_opens_the_cell_on_the_race_page(query):
    at = page(n="16", steps="100", **query)
    assert not at.exception
    url = link(at).url
    assert url.startswith("race?") and not link(at).disabled
    q = dict(parse_qsl(urlsplit(url).query))
    opt = query["opt"]
    race = page(RACE, **q)
    assert not race.exception and not race.warning
    sb = race.sidebar
    assert sb.selectbox(key="race:surface").value == query["surface"]
    assert sb.multiselect(key="race:opts").value == [opt]
    assert sb.slider(key="race:steps").value == 100
    assert sb.number_input(key="race:x0").value == float(q["x0"])
    assert sb.number_input(key="race:y0").value == float(q["y0"])
    for name in (query["hx"], query["hy"]):
        assert sb.select_slider(key=f"race:{opt}.{name}").value == float(q[f"{opt}.{name}"])
    if "nesterov.convention" in query:
        assert race.sidebar.radio(key="race:nesterov.convention").value == "pytorch"
    # the values the race opens at are the race's slider values nearest to the cell's
    text = next(m.value for m in at.markdown if "cell**" in m.value)
    assert "it opens at" in text and q[f"{opt}.{query['hx']}"] in text
