"""Learning-rate decay: the schedules α_t, and what each does to the same run."""

from dataclasses import replace

import streamlit as st

from lessons.decay import LESSONS
from optim import OPTIMIZERS, SCHEDULES
from optim.metrics import gd_stability_limit
from optim.schedules import schedule_curve
from surfaces import SURFACES
from ui import state
from ui.cache import surface_picture, trajectory
from ui.common import GLOBAL_SETTINGS, plot, style
from ui.export import download_buttons
from ui.lessons import FREE, changed, claim_box, lesson_menu, preset_setting
from ui.state import S, Setting
from ui.widgets import hparam_setting, hparam_widget, optimizer_panel, optimizer_settings
from viz.decay import decay_loss_figure, decay_table, schedule_figure, schedule_runs, smoothed
from viz.race import race_figure
from viz.tables import MISSING, trajectories_table

PAGE = "decay"
FIRST = LESSONS["oscillates"]
DEFAULTS = FIRST.settings  # the page opens on the first lesson, with a bare URL


def _lesson_default(s: Setting) -> Setting:
    return replace(s, default=DEFAULTS.get(s.key, s.default))


PRESET = preset_setting(LESSONS, FIRST.key)
SURFACE = Setting("surface", "bowl", "choice", choices=tuple(SURFACES))
RUN = [_lesson_default(s) for s in [
    Setting("scheds", [], "multi", choices=tuple(SCHEDULES)),
    Setting("opt", "gd", "choice", choices=tuple(OPTIMIZERS)),
    Setting("steps", 300, "int", 1, 2000),
    Setting("noise", 0.0, "float", 0.0, 100.0),
    Setting("seed", 0, "int", 0, 2**31 - 1),
    Setting("tol", 1e-3, "float", 1e-12, 1e6),
    Setting("loglr", False, "bool"),
    Setting("logy", True, "bool"),
    Setting("smooth", True, "bool"),
]]
HPS = [_lesson_default(s) for name in OPTIMIZERS for s in optimizer_settings(name)]
SCHED = [_lesson_default(hparam_setting(f"d.{s.name}", h)) for s in SCHEDULES.values() for h in s.params]
BY_KEY = {s.key: s for s in SCHED}
NUMBER_COLUMNS = ("final α", "final f − f*", "mean f − f*, last 10 %")
SMOOTH = 20
VIEW = {"preset", "present", "tol", "loglr", "logy", "smooth"}  # settings no run depends on


def _start_of_surface():
    S.x0, S.y0 = map(float, SURFACES[S.surface].start)


@st.cache_data(max_entries=256, show_spinner=False)
def _curve(name: str, lr: float, params: tuple, steps: int):
    return schedule_curve(name, lr, dict(params), steps)


@st.cache_data(show_spinner=False)
def _stability_limit(name: str) -> float | None:
    s = SURFACES[name]
    return gd_stability_limit(s.f, s.minima[0]) if s.minima else None


st.title("Learning-rate decay")
st.caption("A constant learning rate may never settle, or may diverge: reduce it as training goes on. "
           "Pick schedules, set their parameters, and watch the same run under each one.")
state.load(GLOBAL_SETTINGS + [PRESET], PAGE)
FILL = dict(LESSONS[S.preset].settings) if S.preset != FREE else {}  # what a lesson's link leaves unsaid
state.load(GLOBAL_SETTINGS + [PRESET, SURFACE], PAGE, FILL)
surface = SURFACES[S.surface]
START = [Setting("x0", float(surface.start[0]), "float", -1e6, 1e6),
         Setting("y0", float(surface.start[1]), "float", -1e6, 1e6)]
SETTINGS = GLOBAL_SETTINGS + [PRESET, SURFACE] + START + RUN + HPS + SCHED
state.load(SETTINGS, PAGE, FILL)
state.show_warnings()

side = st.sidebar
lesson_menu(LESSONS, side)
chosen = side.multiselect("schedules", tuple(SCHEDULES), key=S.key("scheds"), format_func=lambda n: SCHEDULES[n].label)
params = {}
for name in chosen:
    sched = SCHEDULES[name]
    params[name] = {}
    if sched.params:
        with side.expander(f"{sched.label}: parameters"):
            params[name] = {h.name: hparam_widget(BY_KEY[f"d.{name}.{h.name}"], h) for h in sched.params}
opt_name = side.selectbox("optimizer", tuple(OPTIMIZERS), key=S.key("opt"), format_func=lambda n: OPTIMIZERS[n].label)
with side.expander(f"{OPTIMIZERS[opt_name].label}: α₀ and hyperparameters", expanded=True):
    st.caption("α is α₀, the rate of the first update: every schedule scales it.")
    opt, hp = optimizer_panel(opt_name, HPS)
side.selectbox("surface", tuple(SURFACES), key=S.key("surface"), on_change=_start_of_surface,
               format_func=lambda n: SURFACES[n].label)
c1, c2 = side.columns(2)
c1.number_input("start x", key=S.key("x0"), format="%.3g", step=0.1)
c2.number_input("start y", key=S.key("y0"), format="%.3g", step=0.1)
side.slider("steps", 1, 2000, key=S.key("steps"), step=1)
side.number_input("gradient noise σ (simulated SGD: the gradient plus σ·N(0, 1))", key=S.key("noise"),
                  min_value=0.0, max_value=100.0, step=0.5, format="%g")
side.number_input("noise seed", key=S.key("seed"), min_value=0, step=1, disabled=S.noise == 0)

lesson = LESSONS.get(S.preset)
if not chosen:
    st.info("Choose at least one schedule in the sidebar.")
    state.publish(SETTINGS)
    st.stop()

steps, lr0, sty = int(S.steps), float(hp["lr"]), style()
x0 = (float(S.x0), float(S.y0))
noise, seed = float(S.noise), int(S.seed)
records = {name: trajectory(surface.name, "", (), opt_name, opt.convention, tuple(sorted(hp.items())), x0, steps,
                            name, tuple(sorted(params[name].items())), noise, seed) for name in chosen}
f_star = surface.min_value or 0.0

runs = schedule_runs(records, surface.f)
uri, _, _ = surface_picture(surface.name)
race = race_figure(uri, surface.domain, surface.minima, x0, runs, sty)
plot(race, key="race")
st.caption(f"The same run under each schedule: {opt.label} from ({x0[0]:.3g}, {x0[1]:.3g}) on the "
           f"{surface.label.lower()}, α₀ = {lr0:g}, {steps} steps, "
           + (f"gradient noise σ = {noise:g} (seed {seed})." if noise else "exact gradients."))
for r in runs:
    if r.note:
        st.warning(f"**{r.label}**: {r.note}.", icon=":material/warning:")
if lesson:  # under the race: on a projector the race comes first
    mine = changed(lesson, SETTINGS, {opt_name, *(f"d.{n}" for n in chosen)}, VIEW)
    claim_box(lesson, lesson.verdict(records, surface), mine)
st.dataframe(decay_table(records, f_star, float(S.tol)), hide_index=True, width="stretch", placeholder=MISSING,
             column_config={c: st.column_config.NumberColumn(format="%.3g") for c in NUMBER_COLUMNS})
c1, c2, c3 = st.columns([1, 1, 2])
c1.number_input("tolerance on f − f*", key=S.key("tol"), format="%g", min_value=1e-12, max_value=1e6)
c2.toggle("log scale", key=S.key("logy"))
c3.toggle(f"smooth f: mean of the last {SMOOTH} steps", key=S.key("smooth"),
          help="A noisy loss is hard to read: its running mean shows the level it hovers at.")
shown = smoothed(runs, SMOOTH) if S.smooth else runs
plot(decay_loss_figure(shown, surface.min_value, surface.minima, sty, log=S.logy), key="loss")

st.subheader("The schedules")
for row in range(0, len(chosen), 3):
    for col, name in zip(st.columns(3), chosen[row: row + 3]):
        col.markdown(f"**{SCHEDULES[name].label}**")
        col.latex(SCHEDULES[name].latex)
st.toggle("log axis for α_t", key=S.key("loglr"))
curves = {name: _curve(name, lr0, tuple(sorted(params[name].items())), steps) for name in chosen}
limit = _stability_limit(surface.name) if opt_name == "gd" else None
plot(schedule_figure(curves, sty, log=S.loglr, limit=limit), key="alpha")

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page: copy it to share these exact runs.")
    table = trajectories_table([r.label for r in runs], [r.path for r in runs], [r.loss for r in runs],
                               [records[r.name]["lr"] for r in runs]).rename(columns={"optimizer": "schedule"})
    download_buttons(race, table, f"descent-lab-decay-{surface.name}")
state.publish(SETTINGS)
