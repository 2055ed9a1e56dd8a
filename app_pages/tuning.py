"""Hyperparameter tuning: a sweep heatmap over two hyperparameters, and random search against
grid search with the same budget of trials; the lesson's claim is checked on the comparison shown."""

import time
from urllib.parse import urlencode

import streamlit as st

from lessons.tuning import BUDGET, LESSONS, SEEDS, SHIFT
from optim import OPTIMIZERS, search
from surfaces import SURFACES
from surfaces.data import MODELS, make_model
from ui import state
from ui.common import GLOBAL_SETTINGS, plot, style
from ui.export import csv_text, standalone_html
from ui.lessons import FREE, changed, claim_box, lesson_menu, preset_setting
from ui.state import S, Setting
from ui.widgets import hparam_widget, optimizer_settings, race_query
from viz.tuning import best_so_far_figure, sweep_figure, sweep_table, symbol, trials_figure

PAGE = "tuning"
DATA = tuple(f"{m}-data" for m in MODELS)
NAMES = tuple(SURFACES) + DATA
SWEEPABLE = tuple(n for n, o in OPTIMIZERS.items() if len(o.hparams) >= 2)
HP_NAMES = tuple(dict.fromkeys(h.name for o in OPTIMIZERS.values() for h in o.hparams))
CHUNK = 1024  # runs per jitted call: a 128 × 128 sweep is 16 calls of one compiled shape
MAIN = [Setting("surface", "beale", "choice", choices=NAMES), Setting("opt", "adam", "choice", choices=SWEEPABLE),
        Setting("hx", "lr", "choice", choices=HP_NAMES), Setting("hy", "beta2", "choice", choices=HP_NAMES)]
RUN = [Setting("n", 64, "int", 16, 128, options=(16, 24, 32, 48, 64, 96, 128)),
       Setting("steps", 300, "int", 10, 1000, options=(50, 100, 200, 300, 500, 1000)),
       Setting("metric", "final", "choice", choices=("final", "steps")), Setting("tol", 1e-3, "float", 1e-12, 1e6),
       Setting("pick", "", "text", max_len=60),
       Setting("budget", BUDGET, "int", 4, 64, options=(4, 9, 16, 25, 36, 49, 64)),
       Setting("seeds", SEEDS, "int", 5, 200), Setting("shift", SHIFT, "bool"), Setting("tseed", 0, "int", 0, 199)]
HPS = [s for name in OPTIMIZERS for s in optimizer_settings(name)]
PRESET = preset_setting(LESSONS)
VIEW = {"preset", "present", "n", "metric", "tol", "pick", "tseed"}  # the comparison depends on none of these


def _surface(name):
    return SURFACES[name] if name in SURFACES else make_model(name.removesuffix("-data")).surface


def _hp(opt, name):
    return next(h for h in OPTIMIZERS[opt].hparams if h.name == name)


def _fit_hps(keep="x"):
    """Keep the swept pair among the optimizer's hyperparameters, two distinct ones (the axis
    ``keep`` wins a tie)."""
    names = [h.name for h in OPTIMIZERS[S.opt].hparams]
    ss, (first, second) = S, ("hx", "hy") if keep == "x" else ("hy", "hx")
    if ss[first] not in names:
        ss[first] = names[0]
    if ss[second] not in names or ss[second] == ss[first]:
        ss[second] = next(n for n in names if n != ss[first])


def _reset_range(which):
    hp = _hp(S.opt, S[f"h{which}"])
    S[f"{which}lo"], S[f"{which}hi"] = hp.low, hp.high


def _on_hp(which="x"):
    """A new hyperparameter (or optimizer): the registry range of each axis whose hyperparameter changed."""
    before, S.pick = (S.hx, S.hy), ""  # a pick names other hps
    _fit_hps(keep=which)
    for w, b in zip("xy", before):
        if S[f"h{w}"] != b or w == which:
            _reset_range(w)


def _reset_start():
    S.x0, S.y0 = map(float, _surface(S.surface).start)


def _on_pick():
    points = st.session_state.sweep_chart.selection.points
    if points:
        ax, ay = (search.Axis(*S[k]) for k in ("_ax", "_ay"))
        S.pick = f"{float(ax.value(points[0]['x'])):.6g},{float(ay.value(points[0]['y'])):.6g}"


@st.cache_data(max_entries=4096, show_spinner=False)
def _part(surface, opt, conv, steps, x0, ax, ay, n, fixed, tol, a, b):
    axx, axy = search.Axis(*ax), search.Axis(*ay)
    return search.sweep_part(opt, _surface(surface), x0, steps, axx.name, axy.name, axx.values(n), axy.values(n),
                             dict(fixed), start=a, stop=b, convention=conv, tol=tol, pad_to=CHUNK)


@st.cache_data(max_entries=256, show_spinner=False)
def _compare(surface, opt, conv, steps, x0, ax, ay, fixed, budget, seeds, shift):
    fn = search.run_score_fn(opt, _surface(surface), x0, steps, search.Axis(*ax), search.Axis(*ay), dict(fixed),
                             convention=conv)
    return search.compare_searches(fn, budget, range(seeds), shift)


st.title("Hyperparameter tuning")
st.caption("Pick hyperparameters on an appropriate scale (the learning rate on a log scale), and prefer random search "
           "to grid search. Every cell and every trial below is a real run, vmapped and jitted by JAX.")
state.load(GLOBAL_SETTINGS + [PRESET], PAGE)
FILL = dict(LESSONS[S.preset].settings) if S.preset != FREE else {}  # what a lesson's link leaves unsaid
state.load(GLOBAL_SETTINGS + [PRESET] + MAIN, PAGE, FILL)
_fit_hps()
ss, side = S, st.sidebar
surface = _surface(ss.surface)
hpx, hpy = _hp(ss.opt, ss.hx), _hp(ss.opt, ss.hy)
RANGE = [Setting(f"{w}{e}", getattr(h, "low" if e == "lo" else "high"), "float", h.low, h.high)
         for w, h in (("x", hpx), ("y", hpy)) for e in ("lo", "hi")]
START = [Setting("x0", float(surface.start[0]), "float", -1e6, 1e6),
         Setting("y0", float(surface.start[1]), "float", -1e6, 1e6)]
SETTINGS = GLOBAL_SETTINGS + [PRESET] + MAIN + RANGE + START + RUN + HPS
state.load(SETTINGS, PAGE, FILL)
state.show_warnings()

lesson_menu(LESSONS, side)
side.selectbox("surface", NAMES, key=S.key("surface"), on_change=_reset_start,
               format_func=lambda n: SURFACES[n].label if n in SURFACES else f"{n[:-5]} regression (data)")
side.selectbox("optimizer", SWEEPABLE, key=S.key("opt"), on_change=_on_hp, format_func=lambda n: OPTIMIZERS[n].label)
labels = {h.name: f"{symbol(h.name)} · {h.help}" for h in OPTIMIZERS[ss.opt].hparams}
for w, h in (("x", hpx), ("y", hpy)):
    side.selectbox(f"{w} axis", tuple(labels), key=S.key(f"h{w}"), on_change=_on_hp, args=(w,), format_func=labels.get)
    for col, e, label in zip(side.columns(2), ("lo", "hi"), ("from", "to")):
        col.number_input(label, key=S.key(f"{w}{e}"), min_value=h.low, max_value=h.high, format="%g", step=None)
side.select_slider("cells per axis", (16, 24, 32, 48, 64, 96, 128), key=S.key("n"))
side.select_slider("steps per run", (50, 100, 200, 300, 500, 1000), key=S.key("steps"))
for col, k in zip(side.columns(2), ("x0", "y0")):
    col.number_input(f"start {k[0]}", key=S.key(k), format="%.3g", step=0.1)
with side.expander(f"{OPTIMIZERS[ss.opt].label}: the other hyperparameters"):
    by_key = {s.key: s for s in HPS}
    fixed = {h.name: hparam_widget(by_key[f"{ss.opt}.{h.name}"], h) for h in OPTIMIZERS[ss.opt].hparams
             if h.name not in (ss.hx, ss.hy)}
    if f"{ss.opt}.convention" in by_key:
        st.radio("convention", OPTIMIZERS[ss.opt].conventions, key=S.key(f"{ss.opt}.convention"), horizontal=True)
conv = ss.get(f"{ss.opt}.convention", "course")

try:
    ax, ay = search.Axis.of(hpx, ss.xlo, ss.xhi), search.Axis.of(hpy, ss.ylo, ss.yhi)
except ValueError as exc:
    st.error(f"{exc}. Fix the range in the sidebar.")
    state.publish(SETTINGS)
    st.stop()
ss._ax, ss._ay = (ax.name, ax.low, ax.high, ax.scale), (ay.name, ay.low, ay.high, ay.scale)
x0, n, steps = (float(ss.x0), float(ss.y0)), int(ss.n), int(ss.steps)
cfg = (ss.surface, ss.opt, conv, steps, x0, ss._ax, ss._ay)
fixed_t = tuple(sorted(fixed.items()))

st.subheader(f"Sweep: {OPTIMIZERS[ss.opt].label} on {surface.label}, {symbol(ss.hx)} × {symbol(ss.hy)}")
m1, m2 = st.columns([3, 2])
m1.radio("colour", ("final", "steps"), key=S.key("metric"), horizontal=True,
         format_func=lambda m: "final loss" if m == "final" else "steps to tolerance")
m2.number_input("tolerance on f − f*", key=S.key("tol"), format="%g", min_value=1e-12, max_value=1e6,
                disabled=surface.minima == () or ss.metric != "steps")
t0, bar, parts, bounds = time.perf_counter(), None, [], search.chunk_bounds(n * n, CHUNK)
for k, (a, b) in enumerate(bounds):
    parts.append(_part(*cfg, n, fixed_t, float(ss.tol), a, b))
    if bar is None and time.perf_counter() - t0 > 0.2 and k + 1 < len(bounds):
        bar = st.progress(0.0)
    if bar is not None:
        bar.progress((k + 1) / len(bounds), text=f"sweeping: {b:,} of {n * n:,} runs")
if bar is not None:
    bar.empty()
took = time.perf_counter() - t0
sw = search.assemble(ss.hx, ss.hy, ax.values(n), ay.values(n), parts)
best = sw.best(ss.metric)
picked = None
if ss.pick:
    try:
        px, py = (float(v) for v in ss.pick.split(","))
        picked = search.nearest_cell(ax, ay, sw.xs, sw.ys, px, py)
    except ValueError:
        st.warning(f"`pick={ss.pick[:40]}` is not two numbers `x,y`: ignored.", icon=":material/warning:")
        ss.pick = ""
sty = style()
fig = sweep_figure(sw, ax, ay, sty, metric=ss.metric, f_star=surface.min_value, best=best, picked=picked)
st.plotly_chart(fig, width="stretch", key="sweep_chart", on_select=_on_pick, selection_mode="points",
                config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}})
st.caption(f"{n * n:,} runs × {steps} steps in {len(bounds)} jitted call{'s' * (len(bounds) > 1)} of "
           f"{min(CHUNK, n * n):,} vmapped runs: {took:.2f} s"
           f"{' (from the cache)' if took < 0.05 else ''}. Grey: diverged. Click a cell to open its run.")

cell = picked or best
if cell is None:
    st.warning("Every run of this sweep diverged: narrow the ranges (smaller learning rates).")
else:
    j, i = cell
    hp_cell = {**{h.name: h.default for h in OPTIMIZERS[ss.opt].hparams}, **fixed,
               ss.hx: float(sw.xs[i]), ss.hy: float(sw.ys[j])}
    q = race_query(ss.surface, ss.opt, hp_cell, int(ss.steps), x0, ss.get(f"{ss.opt}.convention", "course"))
    c1, c2 = st.columns([5, 2], vertical_alignment="center")
    c1.markdown(f"**{'Picked' if picked else 'Best'} cell**: {symbol(ss.hx)} = {sw.xs[i]:.4g}, "
                f"{symbol(ss.hy)} = {sw.ys[j]:.4g} → final f = {sw.final[j, i]:.4g}"
                f"{' (diverged)' if sw.diverged[j, i] else ''}. The race's sliders take 1, 1.5, 2, 3, 5, 7 × 10ᵏ: "
                f"it opens at {symbol(ss.hx)} = {q[f'{ss.opt}.{ss.hx}']}, {symbol(ss.hy)} = {q[f'{ss.opt}.{ss.hy}']}.")
    c2.link_button("Open this run in the race", "race?" + urlencode(q), icon=":material/sports_score:",
                   disabled=ss.surface in DATA, width="stretch",
                   help="The race page has the analytic surfaces only." if ss.surface in DATA else None)

st.subheader("Random search against grid search")
st.markdown("The same budget of trials: grid search tries k values of each hyperparameter (k² trials), random "
            "search k² values of each. When one hyperparameter matters much more than the other, the grid wastes "
            "its trials repeating the same k values of the one that matters.")
ss.tseed = min(int(ss.tseed), int(ss.seeds) - 1)
c1, c2, c3, c4 = st.columns(4)
c1.select_slider("budget (trials)", (4, 9, 16, 25, 36, 49, 64), key=S.key("budget"))
c2.number_input("seeds", key=S.key("seeds"), min_value=5, max_value=200, step=5)
c3.number_input("seed drawn", key=S.key("tseed"), min_value=0, max_value=int(ss.seeds) - 1, step=1)
c4.toggle("shifted grid", key=S.key("shift"),
          help="A fixed grid's result hangs on where its k values fall; a random offset per seed shows its range.")
cmp = _compare(*cfg, fixed_t, int(ss.budget), int(ss.seeds), bool(ss.shift))
s, log = int(ss.tseed), surface.min_value is not None
left, right = st.columns(2)
with left:
    st.markdown(f"**Seed {s}: the trials on the map** (ticks on the edges: the values each search tried)")
    plot(trials_figure(sw, ax, ay, cmp.grid_u[s], cmp.random_u[s], sty, f_star=surface.min_value,
                       grid_scores=cmp.grid_scores[s], random_scores=cmp.random_scores[s]), key="trials")
with right:
    st.markdown(f"**Best so far against trials**: median and 10–90 % band over {len(cmp.seeds)} seeds")
    plot(best_so_far_figure(cmp, sty, log=log), key="best")
if lesson := LESSONS.get(ss.preset):
    claim_box(lesson, lesson.verdict(cmp), changed(lesson, SETTINGS, {ss.opt}, VIEW))
g_med, r_med = cmp.medians()
st.markdown(f"Median best {'f − f*' if log else 'f'} after {ss.budget} trials: **grid {g_med:.3g}**, **random "
            f"{r_med:.3g}**; random search ends better on **{cmp.random_wins():.0%}** of the {len(cmp.seeds)} seeds."
            + ("" if r_med < g_med else " Here a grid's even cover does as well: the argument for random search is "
               "about one hyperparameter mattering much more than the other (the classic case, in the sidebar)."))

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page, the picked cell included: copy it to share.")
    d1, d2 = st.columns(2)
    d1.download_button("Download the heatmap (HTML)", lambda: standalone_html(fig, "descent-lab-sweep"),
                       "descent-lab-sweep.html", "text/html", on_click="ignore")
    d2.download_button("Download the sweep (CSV)", lambda: csv_text(sweep_table(sw)), "descent-lab-sweep.csv",
                       "text/csv", on_click="ignore")
state.publish(SETTINGS)
