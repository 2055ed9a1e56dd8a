"""The race page in headless Chromium: it draws, Play moves the heads, nothing errs."""

import pytest

from browser.conftest import HEADS_JS, wait_moved

pytestmark = pytest.mark.browser


def test_play_moves_the_heads(open_page):
    opened = open_page("/race?opts=gd,momentum,adam&steps=200")
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    before = page.evaluate(HEADS_JS)
    page.get_by_text("▶ Play", exact=True).click()
    wait_moved(page, HEADS_JS, before, 0.1)
    after = page.evaluate(HEADS_JS)
    opened.screenshot("race-playing")
    assert len(before) == len(after) > 0
    moved = sum(abs(a - b) for a, b in zip(before, after))
    assert moved > 0.1, "the heads did not move after Play"
    assert opened.real_errors() == []


def test_view_controls_rerun_only_their_part(open_page):
    """The log scale and the step-through are fragments: the race figure above stays the same
    drawn element (not sent again), and the address bar still follows them."""
    from browser.conftest import rerun_and_wait

    opened = open_page("/race")
    page = opened.page
    page.evaluate("() => { window.__race = document.querySelector('.js-plotly-plot'); }")
    kept = "() => window.__race === document.querySelector('.js-plotly-plot')"
    rerun_and_wait(page, lambda: page.get_by_text("log scale").click(), min_plots=2)
    assert page.evaluate(kept) and "logy=0" in page.url
    rerun_and_wait(page, lambda: page.get_by_text("Step through one optimizer").click(), min_plots=3)
    rerun_and_wait(page, lambda: page.get_by_text("Step ▶").click(), min_plots=3)
    assert page.get_by_text("Update 1 → 2").count() == 1
    assert page.evaluate(kept) and "walk_k=1" in page.url
    assert opened.real_errors() == []


def test_a_slider_step_updates_the_figures_in_place(open_page):
    """After a hyperparameter step, the race and loss figures are the same drawn elements, with
    the new runs drawn into them (ui/figure.py: Plotly.react, not a new chart), and the frames
    of the animation are the new ones."""
    from bench.bench_browser import hparam_slider
    from browser.conftest import rerun_and_wait

    opened = open_page("/race?opts=gd&steps=100")
    page = opened.page
    page.evaluate("""() => { window.__figs = [...document.querySelectorAll('.js-plotly-plot')];
        window.__before = window.__figs.map(g => JSON.stringify(g._fullData.map(t => [t.x, t.y])));
        window.__frames = JSON.stringify(window.__figs[0]._transitionData._frames.at(-1).data); }""")
    slider = hparam_slider(page)
    slider.focus()
    rerun_and_wait(page, lambda: page.keyboard.press("ArrowRight"), min_plots=2)
    same, changed, frames = page.evaluate("""() => {
        const now = [...document.querySelectorAll('.js-plotly-plot')];
        return [now.length === window.__figs.length && now.every((g, i) => g === window.__figs[i]),
                now.map((g, i) => JSON.stringify(g._fullData.map(t => [t.x, t.y])) !== window.__before[i]),
                JSON.stringify(now[0]._transitionData._frames.at(-1).data) !== window.__frames]; }""")
    assert same, "a figure was replaced by a new element"
    assert all(changed), f"a figure still shows the old runs: {changed}"
    assert frames, "the animation still has the old frames"
    assert opened.real_errors() == []
