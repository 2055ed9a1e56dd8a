"""Every figure builder of viz/, readable everywhere: log axes written in powers of ten with no
bare minor digits, every text at the style's size, Play controls that never cover the slider.
One figure per builder, from the inputs the other viz tests use; a builder added to viz/
without an entry here fails ``test_every_builder_is_checked``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import test_viz_data
import test_viz_gradients
import test_viz_landscape
import test_viz_network
import test_viz_race
import test_viz_tuning

from optim import SCHEDULES
from optim.schedules import schedule_curve
from optim.search import compare_searches, grid_trials, random_trials
from surfaces import SURFACES
from surfaces import network as N
from surfaces.data import make_model
from viz import data, decay, gradients, landscape, network, race, surface, tuning
from viz.style import PRESENTATION_MAX_HEIGHT, Style, button_height

MODULES = (data, decay, gradients, landscape, network, race, surface, tuning)
STYLES = {"normal": Style(), "presentation": Style(presentation=True)}


@pytest.fixture(scope="module")
def inputs():
    """What the builders draw: two real races on Rosenbrock, synthetic data runs, network runs,
    gradient-norm runs and a sweep."""
    s = SURFACES["rosenbrock"]
    model = make_model("linear", m=100, noise=1.0, seed=0)
    return dict(
        s=s, uri=surface.surface_image(surface.make_grid(s.f, s.domain, 40), s.log_levels),
        runs=test_viz_race._runs(s, ["gd", "adam"], 100),
        model=model,
        data_uri=surface.surface_image(surface.make_grid(model.surface.f, model.surface.domain, 40), False),
        batch_runs=[test_viz_data._run(k, 100, 5, i, model=model, with_rows=k == "16")
                    for i, k in enumerate(("1", "16", "m"))],
        net_runs=test_viz_network.fake_runs(2), grad_runs=test_viz_gradients._runs(2, 60, 6),
        sweep=test_viz_tuning.fake_sweep(8), scalar=N.scalar_chain((0.5, 1.0, 2.0), 40),
    )


def _schedule_runs(runs):
    return [decay.ScheduleRun(name, SCHEDULES[name].label, r.path, r.loss, r.end, r.note, i)
            for i, (name, r) in enumerate(zip(("constant", "cosine"), runs))]


BUILDERS = {
    "race_figure": lambda d, st: race.race_figure(d["uri"], d["s"].domain, d["s"].minima, d["s"].start, d["runs"], st),
    "loss_figure": lambda d, st: race.loss_figure(d["runs"], d["s"].min_value, d["s"].minima, st),
    "step_figure": lambda d, st: race.step_figure(d["uri"], d["s"].domain, d["s"].minima, d["runs"][1].path, 3,
                                                   np.array([0.01, -0.02]), "Adam", "#D55E00", st),
    "surface_3d_figure": lambda d, st: surface.surface_3d_figure(
        surface.make_grid(d["s"].f, d["s"].domain, 30), True, {"adam": d["runs"][1].path},
        {"adam": d["runs"][1].loss}, {"adam": "Adam"}, st),
    "data_race_figure": lambda d, st: data.data_race_figure(
        d["model"], d["data_uri"], d["batch_runs"], d["batch_runs"][1],
        data.pseudo_code(16, 100, 5, data.update_lines("gd")), st),
    "loss_curves_figure": lambda d, st: data.loss_curves_figure(d["batch_runs"], 0.5, st),
    "schedule_figure": lambda d, st: decay.schedule_figure(
        {n: schedule_curve(n, 0.1, None, 200) for n in SCHEDULES}, st, log=True, limit=0.1),
    "decay_loss_figure": lambda d, st: decay.decay_loss_figure(_schedule_runs(d["runs"]), d["s"].min_value,
                                                               d["s"].minima, st),
    "margin_figure": lambda d, st: network.margin_figure("hinge", st),
    "curves_figure": lambda d, st: network.curves_figure(d["net_runs"], st, log=True),
    "boundary_figure": lambda d, st: network.boundary_figure(d["net_runs"], test_viz_network.DATA, st),
    "scalar_figure": lambda d, st: gradients.scalar_figure(d["scalar"].w, d["scalar"].powers, st),
    "activation_figure": lambda d, st: gradients.activation_figure(
        *gradients.activation_histograms([np.linspace(0, 1, 50)] * 3, (0.0, 1.0), bins=10), st),
    "layer_norms_figure": lambda d, st: gradients.layer_norms_figure(
        np.geomspace(1e-9, 1.0, 6), np.geomspace(1.0, 1e-3, 5), st),
    "comparison_figure": lambda d, st: gradients.comparison_figure(
        np.array([[1e-6, 1.0], [1e3, 2.0]]), np.ones((2, 2)), ["tanh", "relu"], ["xavier", "he"], st, current=(0, 1)),
    "training_figure": lambda d, st: gradients.training_figure(d["grad_runs"], st),
    "history_figure": lambda d, st: gradients.history_figure(d["grad_runs"], st),
    "sweep_figure": lambda d, st: tuning.sweep_figure(d["sweep"], test_viz_tuning.AX, test_viz_tuning.AY, st,
                                                      f_star=0.0, best=(1, 2)),
    "trials_figure": lambda d, st: tuning.trials_figure(d["sweep"], test_viz_tuning.AX, test_viz_tuning.AY,
                                                        grid_trials(9, 0), random_trials(9, 0), st, f_star=0.0),
    "landscape_figure": lambda d, st: landscape.landscape_figure(
        test_viz_landscape.uri(), test_viz_landscape.XS, test_viz_landscape.YS, test_viz_landscape.fake_paths(),
        "Adam", 20, st),
    "gap_figure": lambda d, st: landscape.gap_figure(test_viz_landscape.fake_paths(), st),
    "update_spectrum_figure": lambda d, st: network.update_spectrum_figure(
        [network.NetRun(n, n, {"update_sv": [np.ones(2), sv, np.ones(1)]}, i)
         for i, (n, sv) in enumerate((("muon", np.linspace(1.0, 0.6, 16)), ("adamw", np.geomspace(1.0, 1e-3, 16))))],
        1, st),
    "final_sharpness_figure": lambda d, st: network.final_sharpness_figure(
        [network.NetRun(r.name, r.label, {**r.rec, "lambda_max": 2.0 + i}, i) for i, r in enumerate(d["net_runs"])],
        st),
    "best_so_far_figure": lambda d, st: tuning.best_so_far_figure(
        compare_searches(lambda u: (u[:, 0] - 0.3) ** 2 + 1e-3 * u[:, 1], 9, range(6)), st),
}


def layout_of(fig) -> dict:
    return fig.to_plotly_json()["layout"]


def axes_of(layout: dict):
    """(name, axis dict) of every 2-D and 3-D axis of a layout."""
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis")):
            yield key, value
        elif key.startswith("scene"):
            for sub in ("xaxis", "yaxis", "zaxis"):
                if sub in value:
                    yield f"{key}.{sub}", value[sub]


def test_every_builder_is_checked():
    found = {name for m in MODULES for name, f in inspect.getmembers(m, inspect.isfunction)
             if name.endswith("_figure") and f.__module__ == m.__name__}
    assert found == set(BUILDERS)


@pytest.mark.parametrize("style", STYLES.values(), ids=STYLES.keys())
@pytest.mark.parametrize("name", BUILDERS)
def test_log_axes_are_powers_of_ten_with_no_bare_digits(inputs, name, style):
    layout = layout_of(BUILDERS[name](inputs, style))
    for key, axis in axes_of(layout):
        if axis.get("type") != "log":
            continue
        assert axis.get("exponentformat") == "power", f"{name}: {key} writes decades with SI suffixes"
        # the 2 … 9 between decades are either unlabelled or not ticked ("D1", "D2" label them 2, 5)
        assert axis.get("minorloglabels") == "none", f"{name}: {key} labels minor ticks with bare digits"
        assert not str(axis.get("dtick", "")).startswith("D"), f"{name}: {key} forces digit ticks"


def test_the_log_axis_check_can_fail(inputs):
    """The check above sees the log axes: the figures that have some are found."""
    with_log = {name for name in BUILDERS
                if any(a.get("type") == "log" for _, a in axes_of(layout_of(BUILDERS[name](inputs, Style()))))}
    assert {"loss_figure", "loss_curves_figure", "schedule_figure", "curves_figure", "scalar_figure",
            "training_figure", "best_so_far_figure"} <= with_log


@pytest.mark.parametrize("style", STYLES.values(), ids=STYLES.keys())
@pytest.mark.parametrize("name", BUILDERS)
def test_every_text_takes_the_styles_font_size(inputs, name, style):
    """Streamlit's theme writes ticks, legends and titles at its own small sizes unless the
    figure sets them: on a projector they would not grow."""
    layout = layout_of(BUILDERS[name](inputs, style))
    size = style.font_size
    assert layout["font"]["size"] == size and layout["legend"]["font"]["size"] == size
    for key, axis in axes_of(layout):
        if key.startswith("scene"):
            continue
        assert axis.get("tickfont", {}).get("size") == size, f"{name}: {key} ticks"
    for note in layout.get("annotations", []):
        if name == "boundary_figure":  # its panel titles shrink to their panel's width
            assert 0.5 * size <= note["font"]["size"] <= size
        else:
            assert note["font"]["size"] == size, f"{name}: annotation {note.get('text')!r}"


ANIMATED = ("race_figure", "data_race_figure", "boundary_figure", "training_figure")


@pytest.mark.parametrize("style", STYLES.values(), ids=STYLES.keys())
@pytest.mark.parametrize("name", ANIMATED)
def test_play_buttons_sit_above_the_slider_never_beside_it(inputs, name, style):
    """Buttons and slider in two rows, the slider across the whole width: at 390 pixels, or
    with enlarged buttons, nothing can cover the slider or its current value."""
    layout = layout_of(BUILDERS[name](inputs, style))
    menu, slider = layout["updatemenus"][0], layout["sliders"][0]
    assert menu["yanchor"] == slider["yanchor"] == "top" and menu["y"] == slider["y"] == 0
    assert slider["x"] == 0 and slider["len"] == 1
    assert slider["pad"]["t"] >= menu["pad"]["t"] + button_height(style), "the slider starts inside the buttons' row"
    current = slider["currentvalue"]
    assert current["font"]["size"] == style.font_size and current["xanchor"] == "left"
    assert current["suffix"].endswith(slider["steps"][-1]["label"])  # "step 40 of 300": where, and how far
    room = slider["pad"]["t"] + current["font"]["size"] * 1.3 + current.get("offset", 10) + 20
    assert layout["margin"]["b"] >= room, "the slider is pushed out of the figure"


def test_the_main_figure_fits_a_projector_and_others_grow(inputs):
    big = Style(presentation=True)
    assert layout_of(BUILDERS["race_figure"](inputs, big))["height"] <= PRESENTATION_MAX_HEIGHT
    small, large = (layout_of(BUILDERS["loss_figure"](inputs, s))["height"] for s in (Style(), big))
    assert large > small
