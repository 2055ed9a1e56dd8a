"""Batch, stochastic and mini-batch gradient descent on a real model and a real data set; the lesson
menu sets the page, the claim box checks the lesson's claim on the runs shown."""

import time
from dataclasses import replace

import jax
import numpy as np
import streamlit as st

from lessons.data import BASE, LESSONS
from optim import OPTIMIZERS, run_minibatch
from optim.metrics import diagnose_divergence
from optim.runner import compile_count
from surfaces.data import MODELS, make_model
from ui import state
from ui.common import GLOBAL_SETTINGS, plot, style
from ui.export import download_buttons
from ui.lessons import FREE, changed, claim_box, lesson_menu, preset_setting
from ui.state import S, Setting
from ui.widgets import optimizer_panel, optimizer_settings, schedule_panel, schedule_settings
from viz.data import (
    BATCH_CHOICES,
    BatchRun,
    batch_size_of,
    data_note,
    data_race_figure,
    loss_curves_figure,
    loss_grid,
    loss_sample_steps,
    mean_losses,
    minibatch_rows,
    n_batches,
    pseudo_code,
    resolve_batches,
    run_label,
    runs_table,
    summary_table,
    update_lines,
)
from viz.surface import surface_image, wants_log_levels
from viz.tables import MISSING

PAGE = "data"
M_OPTIONS = (50, 100, 200, 500, 1000, 2000, 5000)
EPOCH_OPTIONS = (1, 2, 3, 5, 10, 20, 30, 50)
FIRST = LESSONS["three"]  # a bare URL opens on the first lesson: its settings are the page's defaults


def _default(s: Setting) -> Setting:
    return replace(s, default=BASE.get(s.key, s.default))


PRESET = preset_setting(LESSONS, FIRST.key)
DATA = [_default(s) for s in [
    Setting("model", "linear", "choice", choices=MODELS),
    Setting("m", 200, "int", 50, 5000, options=M_OPTIONS),
    Setting("noise", 1.0, "float", 0.0, 3.0),
    Setting("seed", 0, "int", 0, 2**31 - 1),
]]
RUN = [_default(s) for s in [
    Setting("sizes", ["1", "32", "m"], "multi", choices=BATCH_CHOICES),
    Setting("epochs", 10, "int", 1, 50, options=EPOCH_OPTIONS),
    Setting("opt", "gd", "choice", choices=tuple(OPTIMIZERS)),
    Setting("decay_per", "step", "choice", choices=("step", "epoch")),
    Setting("focus", "32", "choice", choices=BATCH_CHOICES),
    Setting("logy", True, "bool"),
    Setting("target", 0.01, "float", 1e-9, 1.0),
]]
HPS = [_default(s) for name in OPTIMIZERS for s in optimizer_settings(name)]
SCHED = schedule_settings()
SETTINGS = GLOBAL_SETTINGS + [PRESET] + DATA + RUN + HPS + SCHED
VIEW = {"preset", "present", "focus", "logy", "target"}  # no run depends on these


@st.cache_data(max_entries=256, show_spinner=False)
def trajectory(kind: str, m: int, noise: float, seed: int, batch: int, epochs: int, optimizer: str,
               convention: str, hp: tuple, schedule: str, sched_params: tuple, decay_per: str) -> dict:
    """One run, timed once (a second time when the first call compiled: the time is that of the
    run, not of the compiler).  The full-data loss is evaluated afterwards at up to ~1,500 updates
    (at every update, SGD on 5,000 examples would cost 5,000 × 100,000 terms)."""
    model = make_model(kind, m, noise, seed)

    def call():
        return run_minibatch(optimizer, model.per_example_loss, model.surface.start, model.X, model.y,
                             epochs=epochs, batch_size=batch, seed=seed, schedule=schedule,
                             schedule_params=dict(sched_params), decay_per=decay_per, convention=convention,
                             record=("params", "lr"), **dict(hp))

    for _ in range(2):
        programs, t0 = compile_count(), time.perf_counter()
        tr = jax.block_until_ready(call())
        seconds = time.perf_counter() - t0
        if compile_count() == programs:
            break
    params = np.asarray(tr.params)
    steps = loss_sample_steps(len(params) - 1, n_batches(m, batch))
    return {"params": params, "lr": np.asarray(tr.lr), "seconds": seconds, "diverged_at": tr.diverged_at,
            "loss_steps": steps, "loss": mean_losses(model, params[steps])}


@st.cache_data(max_entries=32, show_spinner=False)
def picture(kind: str, m: int, noise: float, seed: int) -> tuple[str, float]:
    """The full-batch loss surface as an image, and its minimum value L*."""
    model = make_model(kind, m, noise, seed)
    grid = loss_grid(model)
    return surface_image(grid, wants_log_levels(grid.z)), float(mean_losses(model, [model.optimum])[0])


@st.cache_data(max_entries=32, show_spinner=False)
def rows(seed: int, m: int, batch: int, epochs: int):
    return minibatch_rows(seed, m, batch, epochs)


def _new_draw():
    S.seed = int(np.random.default_rng().integers(0, 2**31 - 1))


st.title("Batch, stochastic and mini-batch gradient descent")
state.load(GLOBAL_SETTINGS + [PRESET], PAGE)
state.load(SETTINGS, PAGE, dict(LESSONS[S.preset].settings) if S.preset != FREE else {})
state.show_warnings()
side = st.sidebar
lesson_menu(LESSONS, side)
side.markdown("**Data set**")
side.radio("model", MODELS, key=S.key("model"), horizontal=True,
           format_func=lambda k: "linear regression (a noisy line)" if k == "linear" else
           "logistic regression (two blobs)")
side.select_slider("number of examples m", M_OPTIONS, key=S.key("m"))
side.slider("noise (spread of the points)", 0.0, 3.0, step=0.1, key=S.key("noise"))
c1, c2 = side.columns(2)
c1.number_input("seed", key=S.key("seed"), min_value=0, max_value=2**31 - 1, step=1)
c2.button("New draw", on_click=_new_draw, width="stretch", help="Draw a new data set (a new seed).")
side.markdown("**Runs**")
side.multiselect("batch sizes to compare", BATCH_CHOICES, key=S.key("sizes"),
                 format_func=lambda c: {"1": "1 (SGD)", "m": "m (batch GD)"}.get(c, c))
side.select_slider("epochs (passes through the data)", EPOCH_OPTIONS, key=S.key("epochs"))
name = side.selectbox("optimizer", tuple(OPTIMIZERS), key=S.key("opt"), format_func=lambda n: OPTIMIZERS[n].label)
with side.expander(f"{OPTIMIZERS[name].label} hyperparameters", expanded=True):
    opt, hp = optimizer_panel(name, HPS)
with side.expander("learning-rate schedule"):
    sched_name, sched_params = schedule_panel(SCHED)
    st.radio("the schedule's t counts", ("step", "epoch"), key=S.key("decay_per"), horizontal=True,
             format_func=lambda d: "updates" if d == "step" else "epochs")

kind, m, noise, seed = (S.model, int(S.m), float(S.noise),
                        int(S.seed))
epochs = int(S.epochs)
try:
    model = make_model(kind, m, noise, seed)
except ValueError as exc:
    st.error(f"No data set to learn from: {exc}.")
    state.publish(SETTINGS)
    st.stop()
keys, big_note = resolve_batches(list(S.sizes), m)
if big_note:
    st.warning(big_note, icon=":material/info:")
if not keys:
    st.info("Choose at least one batch size in the sidebar (1 is SGD, m is batch GD).")
    state.publish(SETTINGS)
    st.stop()
if note := data_note(model):
    st.warning(note, icon=":material/warning:")
figure_slot = st.container()  # the animated figure first (a projector shows it whole), its controls under it

if S.focus not in keys:
    S.focus = keys[1] if len(keys) > 1 and keys[0] == "1" else keys[0]
uri, l_star = picture(kind, m, noise, seed)
runs = []
for key in keys:
    b = batch_size_of(key, m)
    rec = trajectory(kind, m, noise, seed, b, epochs, name, opt.convention, tuple(sorted(hp.items())),
                     sched_name, tuple(sorted(sched_params.items())), S.decay_per)
    div = rec["diverged_at"]
    why = diagnose_divergence(None, rec["params"], div, model.loss)
    note = f"diverged at update {div}: {why.message}" if why else ""
    runs.append(BatchRun(key, b, m, rec["params"], rec["lr"], rec["loss_steps"], rec["loss"], rec["seconds"],
                         div - 1 if div is not None else len(rec["params"]) - 1, note,
                         rows(seed, m, b, epochs) if S.focus == key else None))
focus_key = st.radio("pseudo-code and highlighted mini-batch of", keys, key=S.key("focus"), horizontal=True,
                     format_func=lambda k: run_label(k, m))
focus = runs[keys.index(focus_key)]
code = pseudo_code(focus.batch, m, epochs, update_lines(name, opt.convention, opt.label))
sty = style()
fig = data_race_figure(model, uri, runs, focus, code, sty)
with figure_slot:
    plot(fig, key="data-race")
st.latex(model.latex)
st.caption(f"{m:,} examples; every update reads the gradient of the mean loss over its mini-batch: "
           "1 example (SGD), a few (mini-batch) or all m (batch GD). Same start, same optimizer, same "
           "learning rate: only the data each update sees differs.")
st.caption("The slider counts epochs: each frame is a point of the way through the epochs, and each run's head "
           "stands at the update it had reached there (an SGD epoch is m updates, a batch-GD epoch one). The "
           "trail behind each head shows its last 20 updates; paths of more than 2,000 updates are drawn every "
           "k-th update.")
for r in runs:
    if r.note:
        st.warning(f"**{r.label}**: {r.note}.", icon=":material/warning:")
if lesson := LESSONS.get(S.preset):  # under the figure: on a projector the race comes first
    claim_box(lesson, lesson.verdict({r.key: r for r in runs}, l_star),
              changed(lesson, SETTINGS, {name, f"sched.{sched_name}"}, VIEW))

st.subheader("Loss per update and per epoch, and the time it took")
st.checkbox("log scale", key=S.key("logy"))
plot(loss_curves_figure(runs, l_star, sty, log=S.logy), key="data-loss")
c1, c2 = st.columns([1, 3])
c1.number_input("target: L − L* below this fraction of the start's gap", key=S.key("target"), min_value=1e-9,
                max_value=1.0, format="%g")
c2.caption("Wall-clock time of each run's updates in one jitted `lax.scan` on this server's CPU, compilation "
           "excluded, measured once when the run was first computed (a cached run is not re-timed). The loss "
           "is that of the whole data set, evaluated at up to ~1,500 updates per run; *to target* is the first "
           "of those updates whose L − L* is below the target.")
st.dataframe(summary_table(runs, l_star, float(S.target)), hide_index=True, width="stretch", placeholder=MISSING)
st.markdown(f"**{opt.label}**, as every update applies it to the mini-batch's gradient dW:")
for eq in opt.equations:
    st.latex(eq)

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page: copy it to share this exact comparison.")
    download_buttons(fig, runs_table(runs), f"descent-lab-data-{kind}-m{m}")
state.publish(SETTINGS)
