"""Vanishing and exploding gradients, layer by layer: w^L, the network at initialization, and
per-layer gradient and weight norms while it trains, with and without the remedies."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from lessons.gradients import LESSONS, config_of
from optim import OPTIMIZERS
from optim.rules import CLIPS
from surfaces import network as N
from ui import state
from ui.cache import in_parallel
from ui.common import GLOBAL_SETTINGS, plot, style
from ui.export import download_buttons
from ui.lessons import FREE, changed, claim_box, lesson_menu, preset_setting
from ui.state import S, Setting
from ui.widgets import log_options, optimizer_panel, optimizer_settings
from viz import gradients as V
from viz.tables import MISSING

PAGE = "gradients"
FIRST = "vanishing"
SIGMAS = log_options(0.01, 10.0)
CLIP_CS = log_options(1e-3, 1e3)
WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256)
BATCHES = (1, 8, 16, 32, 64, 128, 256, 1000)
EXAMPLES = (200, 400, 800)
EPOCH_BUCKETS = (10, 30, 50)  # epochs are static for the compiler: train a bucket, show a prefix
DEFAULTS = LESSONS[FIRST].settings  # a bare URL opens on the first lesson


def _default(s: Setting) -> Setting:
    return replace(s, default=DEFAULTS.get(s.key, s.default))


PRESET = preset_setting(LESSONS, FIRST)
RUN = [_default(s) for s in [
    Setting("act", "relu", "choice", choices=tuple(N.ACTIVATIONS)),
    Setting("init", "he", "choice", choices=tuple(N.INITS)),
    Setting("sigma", 1.0, "float", SIGMAS[0], SIGMAS[-1], options=SIGMAS),
    Setting("depth", 20, "int", 1, N.MAX_DEPTH),
    Setting("width", 32, "int", WIDTHS[0], WIDTHS[-1], options=WIDTHS),
    Setting("bn", False, "bool"),
    Setting("opt", "gd", "choice", choices=tuple(OPTIMIZERS)),
    Setting("clip", "none", "choice", choices=CLIPS),
    Setting("clip_c", 1.0, "float", CLIP_CS[0], CLIP_CS[-1], options=CLIP_CS),
    Setting("epochs", 30, "int", 1, EPOCH_BUCKETS[-1]),
    Setting("batch", 32, "int", BATCHES[0], BATCHES[-1], options=BATCHES),
    Setting("data", "moons", "choice", choices=tuple(N.DATASETS)),
    Setting("m", 400, "int", EXAMPLES[0], EXAMPLES[-1], options=EXAMPLES),
    Setting("seed", 0, "int", 0, 2**31 - 1),
    Setting("cmp", True, "bool"),
    Setting("grid", False, "bool"),
]]
HPS = [_default(s) for name in OPTIMIZERS for s in optimizer_settings(name)]
SETTINGS = GLOBAL_SETTINGS + [PRESET] + RUN + HPS
VIEW = {"preset", "present", "cmp", "grid"}  # settings the claim at initialization does not depend on


@st.cache_data(max_entries=64, show_spinner=False)
def at_init(cfg: N.NetConfig) -> dict:
    """Per-layer gradient norms (what the lessons' claims are about) and activation histograms."""
    stats = N.layer_activation_stats(cfg.init_params(), cfg.data().X_train, cfg.activation)
    layers = [np.asarray(a) for a in stats.a]
    edges, hist = V.activation_histograms(layers, V.value_bounds(layers, cfg.activation))
    return {"norms": N.layer_norms_at_init(cfg), "edges": edges, "hist": hist, "std": np.asarray(stats.std),
            "saturated": np.asarray(stats.saturated)}


@st.cache_data(max_entries=8, show_spinner=False)
def grid(net: N.NetConfig) -> tuple[np.ndarray, np.ndarray]:
    """‖∂J/∂W₁‖ and ‖∂J/∂W_{L+1}‖ at initialization for every activation × initialization."""
    norms = [[N.layer_norms_at_init(replace(net, activation=a, init=i)) for i in N.INITS] for a in N.ACTIVATIONS]
    return np.array([[n[0] for n in row] for row in norms]), np.array([[n[-1] for n in row] for row in norms])


@st.cache_data(max_entries=16, show_spinner=False)
def training(cfg: N.NetConfig, convention: str, hp: tuple) -> dict:
    """One run, recorded at every update, for ``cfg.epochs`` (a bucket) epochs."""
    d = cfg.data()
    r = N.train(cfg.init_params(), d.X_train, d.y_train, cfg.optimizer, cfg.epochs, cfg.batch_size, dict(hp),
                cfg.seed, cfg.activation, cfg.loss, 0.0, cfg.batchnorm, cfg.clip, 1, d.X_test, d.y_test,
                convention=convention)
    out = {k: np.asarray(getattr(r, k)) for k in ("step", "loss", "grad_norms", "weight_norms", "train_loss",
                                                  "test_acc")}
    m = len(d.y_train)
    return out | {"diverged": r.diverged_at, "per_epoch": math.ceil(m / min(cfg.batch_size, m)), "m_train": m}


st.title("Vanishing & exploding gradients")
st.caption("In a deep network the signal and its gradient are products over layers: weights a little below 1 "
           "make them vanish (training slows down), a little above 1 make them explode (training diverges). "
           "Remedies: He / Xavier initialization, batch normalization, gradient clipping.")
state.load(GLOBAL_SETTINGS + [PRESET], PAGE)
fill = dict(LESSONS[S.preset].settings) if S.preset != FREE else {}  # what a preset's link leaves unsaid
state.load(SETTINGS, PAGE, fill)
state.show_warnings()

side = st.sidebar
lesson_menu(LESSONS, side)
side.markdown("**Network**")
side.slider("depth L (hidden layers)", 1, N.MAX_DEPTH, key=S.key("depth"))
side.select_slider("width (units per hidden layer)", WIDTHS, key=S.key("width"))
side.selectbox("activation g", tuple(N.ACTIVATIONS), key=S.key("act"), format_func=lambda a: N.ACTIVATIONS[a].label)
side.selectbox("initialization", tuple(N.INITS), key=S.key("init"), format_func=lambda i: N.INITS[i].label)
if S.init == "naive":
    side.select_slider("σ of the naive initialization", SIGMAS, key=S.key("sigma"), format_func=lambda v: f"{v:g}")
side.toggle("batch normalization (hidden layers)", key=S.key("bn"))
side.markdown("**Training**")
opt_name = side.selectbox("optimizer", tuple(OPTIMIZERS), key=S.key("opt"), format_func=lambda n: OPTIMIZERS[n].label)
with side.expander(f"{OPTIMIZERS[opt_name].label} hyperparameters"):
    opt, hp = optimizer_panel(opt_name, HPS)
side.radio("gradient clipping", CLIPS, key=S.key("clip"), horizontal=True,
           format_func={"none": "none", "value": "by value |g| ≤ c", "norm": "by norm ‖g‖ ≤ c"}.get)
side.select_slider("clipping threshold c", CLIP_CS, key=S.key("clip_c"), format_func=lambda v: f"{v:g}")
side.slider("epochs", 1, EPOCH_BUCKETS[-1], key=S.key("epochs"))
side.select_slider("mini-batch size", BATCHES, key=S.key("batch"),
                   format_func=lambda b: f"{b} (all: batch GD)" if b == BATCHES[-1] else str(b))
side.selectbox("data set", tuple(N.DATASETS), key=S.key("data"), format_func=lambda d: N.DATASETS[d].label)
side.select_slider("examples m (¾ train, ¼ test)", EXAMPLES, key=S.key("m"))
side.number_input("seed (data, initialization, shuffling)", key=S.key("seed"), min_value=0, step=1)

v = state.values(SETTINGS)
cfg = config_of(v, hp["lr"])
lesson = LESSONS.get(v["preset"])
sty = style()

st.subheader("1 · The scalar lesson: w^L")
st.caption("ŷ = w^L x through L layers of one unit each: the forward signal and the gradient are such products.")
chain = N.scalar_chain((0.9, 1.0, 1.1), 50)
plot(V.scalar_figure(chain.w, chain.powers, sty), key="scalar")

st.subheader("2 · At initialization")
act, init = N.ACTIVATIONS[cfg.activation], N.INITS[cfg.init]
st.latex(act.latex + r"\qquad " + init.latex + (rf",\ \sigma = {cfg.sigma:g}" if cfg.init == "naive" else ""))
net = replace(cfg, optimizer="gd", lr=0.0, epochs=1, batch_size=1, clip=("none", 1.0))
with st.spinner("Measuring the network at initialization (a new shape compiles first)…", show_time=True):
    res = at_init(net)
if lesson:
    claim_box(lesson, lesson.verdict(res["norms"]), changed(lesson, SETTINGS, {opt_name}, VIEW))
c1, c2 = st.columns(2)
with c1:
    plot(V.activation_figure(res["edges"], res["hist"], sty, "Activations per layer (share of values)"), key="acts")
with c2:
    plot(V.layer_norms_figure(res["norms"], res["std"], sty, "Gradient and signal per layer"), key="norms")
sat = res["saturated"]
st.caption(f"Saturated or dead units (g'(z) < 5 % of its peak): {sat[0]:.0%} in layer 1, {sat[-1]:.0%} in layer "
           f"{len(sat)}. Batch norm, when on, normalizes z before g.")
if st.toggle("Compare every activation × initialization (first layer's gradient over the last's)", key=S.key("grid")):
    with st.spinner("Measuring 25 networks at initialization…", show_time=True):
        first, last = grid(replace(net, activation="", init=""))
    here = (list(N.ACTIVATIONS).index(cfg.activation), list(N.INITS).index(cfg.init))
    plot(V.comparison_figure(first, last, [a.label for a in N.ACTIVATIONS.values()],
                             [i.label for i in N.INITS.values()], sty, here), key="grid_fig")
    st.caption("Same depth, width, σ, batch norm and data as above. Blue: the gradient vanishes toward the input; "
               "red: it grows toward the input. A ratio near 1 can still hide a uniform explosion: read ‖g₁‖.")

st.subheader("3 · During training")
st.toggle("Side by side: without and with batch norm and clipping", key=S.key("cmp"))
kind, c = cfg.clip
clip_on = (kind if kind != "none" else "norm", c)
clip_text = f"clipping {'|g|' if clip_on[0] == 'value' else '‖g‖'} ≤ {c:g}"
variants = [("no remedy", False, ("none", c)), (clip_text, False, clip_on), ("batch norm", True, ("none", c)),
            (f"batch norm + {clip_text}", True, clip_on)]
mine = (cfg.batchnorm, kind != "none")
if not v["cmp"]:
    variants = [x for x in variants if (x[1], x[2][0] != "none") == mine]
bucket = next(b for b in EPOCH_BUCKETS if b >= cfg.epochs)
key = replace(cfg, epochs=bucket)
runs, rows = [], []
with st.spinner(f"Training {len(variants)} variant{'s' * (len(variants) > 1)} (a new configuration compiles "
                "first)…", show_time=True):
    # the unclipped variants first: one per compiled program (batch norm or not) at a time on the
    # cores; the clipped ones then reuse those programs (clipping is traced)
    order = sorted(range(len(variants)), key=lambda i: variants[i][2][0] != "none")
    done = in_parallel(training, [(replace(key, batchnorm=variants[i][1], clip=variants[i][2]), opt.convention,
                                   tuple(sorted(hp.items()))) for i in order])
    recs = [done[order.index(i)] for i in range(len(variants))]
for (label, bn, clip), rec in zip(variants, recs):
    n = cfg.epochs * rec["per_epoch"]
    div = rec["diverged"] if rec["diverged"] and rec["diverged"][0] <= n else None
    runs.append(V.RunTrace(label, rec["step"][:n], rec["loss"][:n], rec["grad_norms"][:n], rec["weight_norms"][:n],
                           div, (bn, clip[0] != "none") == mine))
    rows.append({"run": ("★ " if runs[-1].mine else "") + label,
                 "diverged at (update, layer)": f"{div[0]}, {div[1] + 1}" if div else "—",
                 "train loss, start → end": " → ".join(V.sci(x) for x in rec["train_loss"][[0, cfg.epochs]]),
                 "test accuracy": f"{rec['test_acc'][cfg.epochs]:.0%}"})
st.caption(f"{OPTIMIZERS[cfg.optimizer].label}, α = {cfg.lr:g}, {cfg.epochs} epochs of mini-batches of "
           f"{min(cfg.batch_size, rec['m_train'])} of the {rec['m_train']} training examples; ★ marks your "
           "settings. The norms are the raw gradient's: clipping bounds the step, not the gradient. Press ▶ Play.")
anim = V.training_figure(runs, sty)
plot(anim, key="train")
for r in runs:
    if r.diverged:
        st.warning(f"**{r.label}** diverged at update {r.diverged[0]}: layer {r.diverged[1] + 1} was the first whose "
                   "gradient or weights overflowed. Its parameters stay frozen from there.", icon=":material/warning:")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder=MISSING)
st.markdown("**Where the gradient went:** log₁₀‖∂J/∂W_l‖ over updates and layers.")
plot(V.history_figure(runs, sty), key="history")

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page: copy it to share these exact runs.")
    download_buttons(anim, V.norms_table(runs), f"descent-lab-gradients-{cfg.activation}-{cfg.init}")
state.publish(SETTINGS)
