"""The loss landscape: the network page's network, data and optimizers (the same settings, shared
through the URL), every path drawn on a plane through one run's final weights (PCA of the paths,
or two random filter-normalized directions), the loss on a grid over it, and how much the
picture lies (the honest gap between the real loss and the plane's)."""

from dataclasses import replace

import streamlit as st

from lessons.landscape import BASE, LAST, LESSONS, NO_BATCH2, PATH_POINTS, centre_of, jobs, label
from optim import OPTIMIZERS
from surfaces import landscape as L
from surfaces import network as N
from surfaces.training import default_init, timed_fit
from ui import state
from ui.cache import in_parallel
from ui.common import plot, style
from ui.export import csv_text, download_buttons
from ui.lessons import changed, claim_box, lesson_menu, preset_setting
from ui.network_settings import BATCHES, DATASET, EPOCHS, config, data_and_network, dataset, load, optimizers
from ui.state import S, Setting
from ui.widgets import optimizer_settings
from viz.landscape import gap_figure, grid_table, landscape_3d, landscape_figure, path_views, paths_table, summary_table
from viz.surface import Grid, surface_image, wants_log_levels
from viz.tables import MISSING

PAGE = "landscape"
GRIDS = (11, 15, 21, 25, 31, 41, 51)
SPANS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
PLANES = {"pca": "PCA of the paths", "random": "random, filter-normalized"}

DATASET = replace(DATASET, default=BASE["data"])
PRESET = preset_setting(LESSONS, "four")  # the first lesson's settings are the page's defaults
CONFIG = config(BASE, (Setting("batch2", BASE["batch2"], "choice", choices=(NO_BATCH2, *BATCHES)),)) + [
    Setting("centre", BASE["centre"], "choice", choices=(LAST, *OPTIMIZERS)),
    Setting("plane", BASE["plane"], "choice", choices=tuple(PLANES)),
    Setting("grid", BASE["grid"], "int", 11, 51, options=GRIDS),
    Setting("span", BASE["span"], "float", 0.25, 3.0, options=SPANS),
    Setting("logy", True, "bool"),
]
HPS = [s for name in OPTIMIZERS for s in optimizer_settings(name)]
VIEW = {"preset", "present", "logy"}  # no run depends on these


@st.cache_data(max_entries=128, show_spinner=False)
def train_path(data_key: tuple, sizes: tuple, act: str, loss: str, lam: float, opt: str, convention: str,
               hp: tuple, batch: int, epochs: int, seed: int) -> dict:
    """One run with its path (the weights every k updates) and its sharpness, cached by the whole
    configuration."""
    data = dataset(*data_key)
    params = N.init_mlp(seed, sizes, default_init(act))
    f, _, _ = timed_fit(params, data, opt, epochs, batch, dict(hp), seed, act, loss, lam, path_points=PATH_POINTS)
    return L.path_record(f, data.X_train, data.y_train, act, loss)


@st.cache_data(max_entries=64, show_spinner=False)
def plane_view(data_key: tuple, calls: tuple, centre: int, plane: str, n: int, span: float, seed: int):
    """The landscape of the runs ``calls`` (``train_path``'s arguments, cached there) around run
    ``centre``'s final weights, and its picture."""
    recs = [train_path(*c) for c in calls]
    data, (_, _, act, loss) = dataset(*data_key), calls[0][:4]
    ls = L.landscape([r["path"] for r in recs], L.final(recs[centre]["path"]), data.X_train, data.y_train,
                     data.X_test, data.y_test, act, loss, plane, n, span, seed)
    log = wants_log_levels(ls.train)
    domain = ((ls.xs[0], ls.xs[-1]), (ls.ys[0], ls.ys[-1]))
    grid = Grid(ls.xs.astype("float32"), ls.ys.astype("float32"), ls.train, domain)
    return ls, surface_image(grid, log), log


st.title("The loss landscape")
st.caption("The network page's network and optimizers, and the real loss around a solution: a plane through one "
           "run's final weights, the loss on a grid over it, every path projected onto it (Li et al., 2018).")
SETTINGS = load(PAGE, LESSONS, PRESET, DATASET, CONFIG + HPS)
state.show_warnings()

side = st.sidebar
lesson_menu(LESSONS, side)
info = data_and_network(side, False, "data, split, initialization, mini-batches, directions", describe=False)
chosen, configs = optimizers(side, HPS, expanded=lambda chosen: False)
def _batch(b: str) -> str:
    return "— no —" if b == NO_BATCH2 else "m (batch GD)" if b == "m" else b


side.select_slider("mini-batch size", BATCHES, key=S.key("batch"), format_func=_batch)
side.selectbox("…and the first optimizer again with the mini-batch size", (NO_BATCH2, *BATCHES), key=S.key("batch2"),
               format_func=_batch)
side.select_slider("epochs", EPOCHS, key=S.key("epochs"))
with side.expander("The plane", expanded=True):
    st.radio("directions", tuple(PLANES), key=S.key("plane"), format_func=PLANES.get, horizontal=True)
    st.selectbox("centre: the final weights of", (LAST, *OPTIMIZERS), key=S.key("centre"),
                 format_func=lambda c: "the last run" if c == LAST else OPTIMIZERS[c].label)
    st.select_slider("grid points per side", GRIDS, key=S.key("grid"))
    st.select_slider("span (PCA: × the paths' reach; random: in filter norms)", SPANS, key=S.key("span"))

if not chosen:
    st.info("Choose at least one optimizer in the sidebar.")
    state.publish(SETTINGS)
    st.stop()
k = int(S.classes) if len(info.classes) > 1 else 2
loss = S.loss if k == 2 or S.loss == "softmax_cross_entropy" else "softmax_cross_entropy"
if loss != S.loss:
    st.info(f"{N.LOSSES[S.loss].label} is a two-class loss: the K = {k} classes are trained with the K-class cross "
            "entropy (softmax).", icon=":material/info:")
act, epochs, seed = S.act, int(S.epochs), int(S.seed)
data_key = (info.name, int(S.m), float(S.noise), seed, k, float(S.test))
data = dataset(*data_key)
m_train = len(data.y_train)
sizes = N.mlp_sizes(int(S.depth), int(S.width), 2, N.LOSSES[loss].n_outputs(k))
runs = jobs(chosen, S.batch, S.batch2)
calls = tuple((data_key, sizes, act, loss, float(S.lam), opt, configs[opt][0].convention,
               tuple(sorted(configs[opt][1].items())), m_train if b == "m" else int(b), epochs, seed)
              for _, opt, b in runs)
keys = [key for key, _, _ in runs]
centre = centre_of(keys, S.centre)
with st.spinner(f"Training {len(runs)} run{'s' * (len(runs) > 1)} and the grid: a new shape or optimizer compiles "
                "for a few seconds…", show_time=True):
    recs = dict(zip(keys, in_parallel(train_path, list(calls)), strict=True))
    ls, uri, log = plane_view(data_key, calls, keys.index(centre), S.plane, int(S.grid), float(S.span), seed)
labels = {key: label(key) for key in keys}
paths = path_views(ls, recs, labels, epochs)
summaries = {key: L.path_summary(ls, i) for i, key in enumerate(keys)}
sty = style()
fig = landscape_figure(uri, ls.xs, ls.ys, paths, f"{labels[centre]}'s final weights", epochs, sty)
plot(fig, key="landscape")
if ls.explained is not None:
    st.markdown(f"**PCA plane** of every path's θ − θ_c: the two axes explain **{ls.explained[0]:.1%}** and "
                f"**{ls.explained[1]:.1%}** of Σ‖θ − θ_c‖² (together {sum(ls.explained):.1%}).")
else:
    st.markdown("**Random plane**: two Gaussian directions, each filter (a unit's incoming weights) rescaled to its "
                "weights' norm, biases left out; the paths barely lie in it (see *kept by the plane*).")
st.caption(f"Colours: the train loss on a {len(ls.xs)} × {len(ls.ys)} grid of θ_c + α d₁ + β d₂ (no λ‖W‖²); press "
           "Play: every path moves epoch by epoch. A projected point can lie: the table's gap is |real loss − plane "
           "loss| along the path.")
checked = {key: {**recs[key], **summaries[key]} for key in keys}
if lesson := LESSONS.get(S.preset):
    claim_box(lesson, lesson.verdict(checked, ls.explained), changed(lesson, SETTINGS, set(chosen), VIEW))
table = summary_table(paths, recs, summaries)
fmt = {c: st.column_config.NumberColumn(format="%.3g") for c in table.columns if c != "run"}
fmt.update({c: st.column_config.NumberColumn(format="percent") for c in ("test acc", "kept by the plane")})
st.dataframe(table, hide_index=True, width="stretch", placeholder=MISSING, column_config=fmt)
st.caption(f"Sharpness: the mean rise of the train loss when every filter moves by {L.SHARP_ALPHA:g} of its own norm "
           "along 16 random filter-normalized directions. Kept: the share of Σ‖θ − θ_c‖² the plane keeps.")
st.subheader("The honest gap")
st.toggle("log scale for the loss", key=S.key("logy"))
plot(gap_figure(paths, sty, log=S.logy), key="gap")
st.subheader("In 3-D")
plot(landscape_3d(ls.xs, ls.ys, ls.train, log, paths, sty), key="surface3d")

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page (the network page's share the same names).")
    download_buttons(fig, paths_table(paths), f"descent-lab-landscape-{info.name}")
    st.download_button("Download the grid (CSV)", data=lambda: csv_text(grid_table(ls.xs, ls.ys, ls.train, ls.test)),
                       file_name=f"descent-lab-landscape-grid-{info.name}.csv", mime="text/csv", on_click="ignore")
state.publish(SETTINGS)
