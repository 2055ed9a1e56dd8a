"""The loss landscape page under AppTest: defaults, every lesson from the menu (its claim box
shows ✓), a link from the network page (the same settings), a malformed query string.  Runs and
planes are cached by configuration: later tests reuse the earlier ones'."""

import json

from helpers import ONE_MB, assert_finite_json, run_page, shown

from lessons.landscape import LESSONS


def page(**query):
    return run_page("landscape", 900, **query)


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.spec) for c in shown(at)}


def assert_sound(at):
    assert not at.exception and not at.error
    for c in shown(at):
        assert len(c.spec) < ONE_MB, c.id
        spec = json.loads(c.spec)
        spec["layout"].pop("images", None)  # a PNG's base64 text may spell "NaN"
        assert_finite_json(spec)


def test_defaults():
    at = page()
    assert_sound(at)
    assert not at.warning
    figs = charts(at)
    assert {"landscape", "gap", "surface3d"} <= set(figs)
    main = figs["landscape"]
    assert len(main["frames"]) == 101 and main["layout"]["images"]  # the contour: a static picture
    heads = [t for t in main["data"] if t.get("name") == "heads"]
    assert len(heads) == 1
    table = at.dataframe[0].value
    assert list(table["run"]) == ["Gradient descent", "Momentum", "RMSprop", "Adam"]
    assert (table["kept by the plane"] > 0.85).all()
    assert any("PCA plane" in m.value for m in at.markdown)
    assert any(s.value.startswith("✓") for s in at.success)
    assert dict(at.query_params) == {}


def test_every_lesson_from_the_menu_shows_its_claim_holding():
    at = page(preset="free", epochs="10")
    assert not at.exception and not at.success
    for key, lesson in LESSONS.items():
        at = at.sidebar.selectbox(key="landscape:preset").set_value(key).run()
        assert_sound(at)
        assert at.sidebar.multiselect(key="landscape:opts").value == lesson.settings["opts"], key
        assert any(lesson.claim in m.value for m in at.markdown), key
        got = [m.value for m in at.success] + [w.value for w in at.warning]
        assert len(got) == 1 and got[0].startswith("✓") and "your changes" not in got[0], (key, got)
        rows = len(lesson.settings["opts"]) + (lesson.settings["batch2"] != "none")
        assert len(at.dataframe[0].value) == rows, key


def test_a_network_page_link_means_the_same_here():
    at = page(opts="adam,gd", epochs="20", m="200", noise="0.2", **{"adam.lr": "0.05"}, plane="random", grid="15")
    assert_sound(at)
    assert not at.warning
    sb = at.sidebar
    assert sb.multiselect(key="landscape:opts").value == ["adam", "gd"]
    assert sb.select_slider(key="landscape:adam.lr").value == 0.05
    figs = charts(at)
    assert figs["landscape"]["layout"]["sliders"][0]["currentvalue"]["suffix"] == " of 20"
    assert any("Random plane" in m.value for m in at.markdown)
    at = sb.select_slider(key="landscape:span").set_value(2.0).run()
    assert str(at.query_params["span"]) in ("2", "['2']")


def test_a_malformed_query_string_falls_back_with_warnings():
    at = page(data="swirl", m="lots", opts="adam,evil", plane="flat", grid="x", span="-1", preset="best",
              centre="nobody", **{"adam.lr": "nan"})
    assert not at.exception
    texts = " ".join(w.value for w in at.warning)
    for key in ("data", "m", "opts", "plane", "grid", "span", "preset", "centre", "adam.lr"):
        assert f"`{key}=" in texts, key
    assert at.sidebar.selectbox(key="landscape:data").value == "moons"
    assert charts(at)["landscape"]["frames"]
