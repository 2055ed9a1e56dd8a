"""Training a small network: several optimizers, the course's losses and L2 regularization side
by side on a seeded 2-D classification task; the lesson menu sets the page, the claim box checks
the lesson's claim on the runs shown."""

import streamlit as st

from lessons.network import BASE, L2_OFF, L2_ON, LESSONS, measures_sharpness, run_record
from optim import OPTIMIZERS
from surfaces import network as N
from surfaces.training import OWN_SCHEDULE, default_init, schedule_of, timed_fit
from ui import state
from ui.cache import in_parallel
from ui.common import plot, style
from ui.eos_panel import EOS_SETTINGS, eos_panel, eos_runs
from ui.export import download_buttons
from ui.lessons import changed, claim_box, lesson_menu, preset_setting
from ui.muon_panel import OWN_SCHEDULE_NOTE, update_panel
from ui.network_settings import BATCHES, DATASET, EPOCHS, config, data_and_network, dataset, load, optimizers
from ui.sam_panel import sharpness_panel
from ui.state import S, Setting
from ui.widgets import optimizer_settings, schedule_panel, schedule_settings
from viz.network import (
    NetRun,
    boundary_figure,
    curves_figure,
    history_table,
    margin_figure,
    results_table,
)
from viz.tables import MISSING

PAGE = "network"
LAMBDA0_COLOR = "#7F7F7F"

PRESET = preset_setting(LESSONS, "defaults")  # the first lesson's settings are the page's defaults
CONFIG = config(BASE) + [Setting("compare", False, "bool"), Setting("logy", True, "bool")]
HPS = [s for name in OPTIMIZERS for s in optimizer_settings(name)]
SCHED = schedule_settings()
VIEW = {"preset", "present", "logy"}  # no run depends on these


@st.cache_data(max_entries=256, show_spinner=False)
def train_run(data_key: tuple, sizes: tuple, act: str, loss: str, lam: float, opt: str, convention: str,
              hp: tuple, batch: int, epochs: int, sched: str, sp: tuple, seed: int, sharp: bool) -> dict:
    """One optimizer's run as NumPy arrays, with its compile and training times and, if ``sharp``,
    its sharpness at the end (cached by the whole configuration: a rerun is instant)."""
    params, data = N.init_mlp(seed, sizes, default_init(act)), dataset(*data_key)
    f, compile_s, train_s = timed_fit(params, data, opt, epochs, batch, dict(hp), seed, act, loss,
                                      lam, sched, dict(sp), convention)
    return run_record(f, data, act, loss, lam, sharp, compile_s, train_s)


st.title("Training a small network")
st.caption("The same multilayer perceptron, from the same initialization and the same mini-batches, trained by "
           "several optimizers at once on a 2-D classification task; the test set is never trained on.")
SETTINGS = load(PAGE, LESSONS, PRESET, DATASET, CONFIG + HPS + SCHED + EOS_SETTINGS)
state.show_warnings()

side = st.sidebar
lesson_menu(LESSONS, side)
info = data_and_network(side, True, "data, split, initialization, mini-batches", describe=True)
chosen, configs = optimizers(side, HPS, expanded=lambda chosen: len(chosen) == 1)
side.select_slider("mini-batch size", BATCHES, key=S.key("batch"),
                   format_func=lambda b: "m (batch GD)" if b == "m" else b)
side.select_slider("epochs", EPOCHS, key=S.key("epochs"))
with side.expander("learning-rate schedule"):
    sched_name, sched_params = schedule_panel(SCHED)
    st.caption("t counts the updates (mini-batches), from 0.")
    if OWN_SCHEDULE & set(chosen):
        st.caption(OWN_SCHEDULE_NOTE)
side.toggle("Overfitting panel: the first optimizer with λ = 0 and with this λ", key=S.key("compare"))

k = int(S.classes) if len(info.classes) > 1 else 2
loss, lam = S.loss, float(S.lam)
if k > 2 and loss != "softmax_cross_entropy":
    st.info(f"{N.LOSSES[loss].label} is a two-class loss and this set has K = {k} classes: the network is "
            "trained with the K-class cross entropy (softmax).", icon=":material/info:")
    loss = "softmax_cross_entropy"
spec, act = N.LOSSES[loss], S.act
data_key = (info.name, int(S.m), float(S.noise), int(S.seed), k,
            float(S.test))
data = dataset(*data_key)
sizes = N.mlp_sizes(int(S.depth), int(S.width), 2, spec.n_outputs(k))
n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
m_train = len(data.y_train)
batch = m_train if S.batch == "m" else int(S.batch)
epochs = int(S.epochs)
st.markdown(f"**{info.label}**, K = {k} classes, {m_train} training and {len(data.y_test)} test examples · "
            f"network {' → '.join(map(str, sizes))} ({N.ACTIVATIONS[act].label}, "
            f"{N.INITS[default_init(act)].label} initialization, {n_params:,} parameters) · "
            f"mini-batches of {min(batch, m_train)} ({-(-m_train // batch)} updates per epoch), {epochs} epochs.")

left, right = st.columns([1, 1])
with left:
    st.markdown(f"**Loss: {spec.label}** (labels ${spec.labels}$)")
    st.latex(r"\ell(\hat y, y) = " + spec.latex)
    st.markdown("**Objective** with L2 regularization (biases not penalized):")
    st.latex(r"J = \frac{1}{m}\sum_{i=1}^{m} \ell(\hat y_i, y_i) + \lambda \sum_{l} \lVert W_l \rVert^2"
             + rf",\quad \lambda = {lam:g}")
    st.caption("The right plot shows every loss of the course against the margin ŷy (positive: classified "
               "correctly). Logistic and cross entropy are one curve: the same loss under the label map "
               "y ∈ {0, 1} ↔ {−1, 1} (tests/test_network.py checks it).")
with right:
    plot(margin_figure(loss, style()), key="margin")

if not chosen:
    st.info("Choose at least one optimizer in the sidebar.")
    state.publish(SETTINGS)
    st.stop()

sched_key = (sched_name, tuple(sorted(sched_params.items())))
jobs = [(name, OPTIMIZERS[name].label, lam, None) for name in chosen]
compare = bool(S.compare) and lam > 0
if compare:
    first = OPTIMIZERS[chosen[0]].label
    jobs += [(chosen[0], f"{first}, λ = 0", 0.0, LAMBDA0_COLOR), (chosen[0], f"{first}, λ = {lam:g}", lam, None)]
with st.spinner(f"Training {len(jobs)} run{'s' * (len(jobs) > 1)}: the first run of a new shape or optimizer "
                "compiles for a few seconds…", show_time=True):
    recs = in_parallel(train_run, [(data_key, sizes, act, loss, run_lam, name, configs[name][0].convention,
                                    tuple(sorted(configs[name][1].items())), batch, epochs,
                                    *schedule_of(name, *sched_key), int(S.seed), measures_sharpness(chosen))
                                   for name, _, run_lam, _ in jobs])
runs = [NetRun(name, label, rec, chosen.index(name), run_lam, color)
        for (name, label, run_lam, color), rec in zip(jobs, recs)]
main, pair = runs[: len(chosen)], runs[len(chosen):]
checked = {r.name: r.rec for r in main} | ({L2_OFF: pair[0].rec, L2_ON: pair[1].rec} if pair else {})
checked |= eos_runs(data_key, sizes, act, loss, configs, int(S.seed))
used = {*chosen, f"sched.{sched_name}"}

sty = style()
st.subheader("Learning curves")
st.toggle("log scale for the loss", key=S.key("logy"))
plot(curves_figure(main, sty, log=S.logy), key="curves")
for r in main:
    if r.note:
        st.warning(f"**{r.label}**: {r.note}.", icon=":material/warning:")
table = results_table(main)
fmt = {c: st.column_config.NumberColumn(format="%.3g") for c in table.columns if c not in ("run", "outcome")}
fmt.update({c: st.column_config.NumberColumn(format="percent") for c in ("train acc", "test acc")})
st.dataframe(table, hide_index=True, width="stretch", placeholder=MISSING, column_config=fmt)
st.caption("Training time: one jitted call per optimizer on this server's CPU, compilation apart (measured when "
           "the run was first computed; a cached run is not re-timed).")
if lesson := LESSONS.get(S.preset):
    claim_box(lesson, lesson.verdict(checked), changed(lesson, SETTINGS, used, VIEW))

st.subheader("Decision boundaries over the epochs")
st.caption("The class each network predicts at every point of the plane (light colours), the training points "
           "(filled) and the test points (open). Press Play, or drag the slider through the epochs.")
boundaries = boundary_figure(main, data, sty)
plot(boundaries, key="boundaries")
update_panel(main, sty)
sharpness_panel(main, sty)

if S.compare:
    st.subheader("Overfitting: L2 regularization")
    if not compare:
        st.info("Set λ > 0 in the sidebar to compare it with λ = 0.")
    else:
        st.markdown(f"**{first}** with λ = 0 and with λ = {lam:g}, all else equal.")
        if S.preset != "overfitting":  # the lesson's own box is above
            ov = LESSONS["overfitting"]
            claim_box(ov, ov.verdict(checked), changed(ov, SETTINGS, used, VIEW))
        plot(curves_figure(pair, sty, log=S.logy), key="lesson-curves")
        plot(boundary_figure(pair, data, sty), key="lesson-boundaries")

eos_panel(checked, configs, sty, SETTINGS, used, VIEW)

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page: copy it to share these exact runs.")
    download_buttons(boundaries, history_table(runs), f"descent-lab-network-{info.name}")
state.publish(SETTINGS)
