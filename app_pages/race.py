"""The optimizer race: several optimizers start from one point and race to the minimum.  The lesson
menu sets the race of a lesson; the claim box checks its claim (or, in free exploration, the
surface's caption, a claim about the default race) on the runs shown."""

from dataclasses import replace

import numpy as np
import streamlit as st

from lessons.race import CAPTIONS, DEFAULT_OPTS, DEFAULT_STEPS, LESSONS
from optim import OPTIMIZERS
from optim.explain import substituted
from optim.metrics import outcome, steps_to_tolerance
from surfaces import SURFACES, FormulaError
from ui import state
from ui.cache import CUSTOM, surface_of, surface_picture, trajectory
from ui.common import GLOBAL_SETTINGS, plot, style
from ui.export import download_buttons
from ui.lessons import FREE, changed, claim_box, lesson_menu, preset_setting
from ui.state import S, Setting
from ui.theory_panel import THEORY_SETTINGS, eigen_arrows, theory_panel
from ui.widgets import optimizer_panel, optimizer_settings, schedule_panel, schedule_settings
from viz.race import RunView, loss_figure, race_figure, step_figure
from viz.surface import surface_3d_figure
from viz.tables import MISSING, results_table, trajectories_table

PAGE = "race"
NAMES = tuple(SURFACES) + (CUSTOM,)
SURFACE = Setting("surface", "bowl", "choice", choices=NAMES)
FORMULA = [Setting("formula", "x**2 + 10*y**2 + 2*sin(3*x)", "text"),
           *(Setting(k, v, "float", -1e4, 1e4) for k, v in
             (("xmin", -3.0), ("xmax", 3.0), ("ymin", -3.0), ("ymax", 3.0)))]
PRESET = preset_setting(LESSONS)
RUN = [
    Setting("opts", list(DEFAULT_OPTS), "multi", choices=tuple(OPTIMIZERS)),
    Setting("steps", DEFAULT_STEPS, "int", 1, 2000),
    Setting("noise", 0.0, "float", 0.0, 100.0),
    Setting("seed", 0, "int", 0, 2**31 - 1),
    Setting("logy", True, "bool"),
    Setting("view3d", False, "bool"),
    Setting("tol", 1e-3, "float", 1e-12, 1e6),
    Setting("walk", False, "bool"),
    Setting("walk_opt", "adam", "choice", choices=tuple(OPTIMIZERS)),
    Setting("walk_k", 0, "int", 0, 2000),
]
HPS = [s for name in OPTIMIZERS for s in optimizer_settings(name)]
SCHED = schedule_settings()
VIEW = {"preset", "present", "logy", "view3d", "tol", "walk", "walk_opt", "walk_k", "theory"}  # no run depends on these

st.title("The optimizer race")
state.load(GLOBAL_SETTINGS + [PRESET], PAGE)
FILL = dict(LESSONS[S.preset].settings) if S.preset != FREE else {}  # what a lesson's link leaves unsaid
state.load(GLOBAL_SETTINGS + [PRESET, SURFACE] + FORMULA, PAGE, FILL)
side = st.sidebar


def _domain():
    return ((S.xmin, S.xmax), (S.ymin, S.ymax))


def _surface_or_error():
    """The chosen surface, or (None, reason) when the typed formula is refused."""
    name = S.surface
    formula, domain = (S.formula, _domain()) if name == CUSTOM else ("", ())
    try:
        return surface_of(name, formula, domain), None
    except FormulaError as exc:
        return None, str(exc)


def _start_of_surface():
    s, _ = _surface_or_error()
    if s is not None:
        S.x0, S.y0 = map(float, s.start)


def _random_start():
    s, _ = _surface_or_error()
    if s is not None:
        (a, b), (c, d) = s.domain
        rng = np.random.default_rng()
        S.x0, S.y0 = float(rng.uniform(a, b)), float(rng.uniform(c, d))


lesson_menu(LESSONS, side)
side.selectbox("surface", NAMES, key=S.key("surface"), on_change=_start_of_surface,
               format_func=lambda n: "your own formula…" if n == CUSTOM else SURFACES[n].label)
if S.surface == CUSTOM:
    side.text_input("f(x, y) =", key=S.key("formula"), on_change=_start_of_surface,
                    help="Numbers, x, y, pi, e, + − * / **, sin cos tan exp log sqrt abs tanh sigmoid min max")
    c1, c2, c3, c4 = side.columns(4)
    for col, key in zip((c1, c2, c3, c4), ("xmin", "xmax", "ymin", "ymax")):
        col.number_input(key, key=S.key(key), step=0.5, format="%g")
surface, error = _surface_or_error()
start = surface.start if surface is not None else (S.get("x0", 0.0), S.get("y0", 0.0))
START = [Setting("x0", float(start[0]), "float", -1e6, 1e6), Setting("y0", float(start[1]), "float", -1e6, 1e6)]
SETTINGS = GLOBAL_SETTINGS + [PRESET, SURFACE] + FORMULA + START + RUN + HPS + SCHED + THEORY_SETTINGS
state.load(SETTINGS, PAGE, FILL)
state.show_warnings()
if error:  # every other setting stays as it was, in the session and in the link
    side.error(f"Formula refused — {error}")
    st.error(f"The formula was refused: {error}. Fix it in the sidebar; the other surfaces still work.")
    state.publish(SETTINGS)
    st.stop()

lesson = LESSONS.get(S.preset) or CAPTIONS.get(surface.name)
st.latex(surface.latex)

c1, c2 = side.columns(2)
c1.number_input("start x", key=S.key("x0"), format="%.3g", step=0.1)
c2.number_input("start y", key=S.key("y0"), format="%.3g", step=0.1)
b1, b2 = side.columns(2)
b1.button("Random start", on_click=_random_start, width="stretch")
b2.button("Surface's start", on_click=_start_of_surface, width="stretch")
chosen = side.multiselect("optimizers", tuple(OPTIMIZERS), key=S.key("opts"), format_func=lambda n: OPTIMIZERS[n].label)
configs = {}
for name in chosen:
    with side.expander(f"{OPTIMIZERS[name].label} hyperparameters", expanded=len(chosen) == 1):
        configs[name] = optimizer_panel(name, HPS)
with side.expander("learning-rate schedule"):
    sched_name, sched_params = schedule_panel(SCHED)
side.slider("steps", 1, 2000, key=S.key("steps"), step=1)
side.number_input("gradient noise σ (simulated SGD: the gradient plus σ·N(0, 1); the data page samples "
                  "real examples)", key=S.key("noise"), min_value=0.0, max_value=100.0, step=0.1, format="%g")
if S.noise > 0:
    side.number_input("noise seed", key=S.key("seed"), min_value=0, step=1)

if not chosen:
    st.info("Choose at least one optimizer in the sidebar.")
    state.publish(SETTINGS)
    st.stop()

x0 = (float(S.x0), float(S.y0))
key = (S.surface, S.formula if surface.name == CUSTOM else "",
       _domain() if surface.name == CUSTOM else ())
runs, records, outcomes = [], {}, {}
for i, (name, (opt, hp)) in enumerate(configs.items()):
    rec = trajectory(*key, name, opt.convention, tuple(sorted(hp.items())), x0, int(S.steps),
                     sched_name, tuple(sorted(sched_params.items())), float(S.noise),
                     int(S.seed))
    records[name] = rec
    out = outcomes[name] = outcome(rec["params"], rec["loss"], rec["diverged_at"], surface.domain, None, surface.f)
    end = min(out.diverged_at - 1 if out.diverged_at else len(rec["params"]) - 1,
              out.left_domain_at if out.left_domain_at is not None else len(rec["params"]))
    note = out.verdict if (out.diverged_at or out.left_domain_at) else ""
    runs.append(RunView(name, opt.label, rec["params"], rec["loss"], end, note, i))

sty = style()
uri, log_levels, grid3d = surface_picture(*key)
race = race_figure(uri, surface.domain, surface.minima, x0, runs, sty)
eigen_arrows(race, key, x0, surface.domain, sty)
plot(race, key="race")
for r in runs:
    if r.note:
        st.warning(f"**{r.label}**: {r.note}.", icon=":material/warning:")
if lesson:  # under the figure: on a projector the race comes first
    ignore = VIEW | ({s.key for s in FORMULA} if surface.name != CUSTOM else set())
    claim_box(lesson, lesson.verdict(records, surface), changed(lesson, SETTINGS, {*chosen, f"sched.{sched_name}"},
              ignore), None, "Lesson" if S.preset != FREE else "This surface, default race")



@st.fragment
def _loss_and_results():
    """The log scale and the tolerance rerun only this part: the race above is not sent again."""
    st.checkbox("log scale", key=S.key("logy"))
    plot(loss_figure(runs, surface.min_value, surface.minima, sty, log=S.logy), key="loss")
    st.columns([1, 3])[0].number_input("tolerance on f − f*", key=S.key("tol"), format="%g", min_value=1e-12,
                                       max_value=1e6, disabled=not surface.minima)
    gap = (surface.min_value or 0.0) + S.tol if surface.minima else None
    rows = [replace(outcomes[r.name], steps_to_tol=None if gap is None else steps_to_tolerance(r.loss, gap))
            for r in runs]  # the tolerance changes only this column: the rest (a diagnosis too) is not redone
    st.dataframe(results_table([r.label for r in runs], rows), hide_index=True, width="stretch", placeholder=MISSING)
    state.publish(SETTINGS)


_loss_and_results()
theory_panel(key, surface, x0, configs, records, sched_name, float(S.noise), sty)

if st.toggle("3-D view", key=S.key("view3d")):
    plot(surface_3d_figure(grid3d, log_levels, {r.name: r.path[: r.end + 1] for r in runs},
                           {r.name: r.loss[: r.end + 1] for r in runs}, {r.name: r.label for r in runs}, sty),
         key="surface3d")


def _walk(delta):
    last = int(S.steps) - 1
    S.walk_k = 0 if delta is None else int(np.clip(S.walk_k + delta, 0, last))


@st.fragment
def _step_through():
    """Stepping reruns only this part."""
    if not st.toggle("Step through one optimizer", key=S.key("walk")):
        state.publish(SETTINGS)
        return
    if S.walk_opt not in chosen:
        S.walk_opt = chosen[0]
    c0, c1, c2, c3 = st.columns([3, 1, 1, 1])
    who = c0.selectbox("optimizer", chosen, key=S.key("walk_opt"), format_func=lambda n: OPTIMIZERS[n].label)
    c1.button("◀ Back", on_click=_walk, args=(-1,), width="stretch")
    c2.button("Step ▶", on_click=_walk, args=(1,), width="stretch")
    c3.button("Reset", on_click=_walk, args=(None,), width="stretch")
    rec, (opt, hp) = records[who], configs[who]
    k = min(int(S.walk_k), len(rec["params"]) - 2)
    eq, pic = st.columns([3, 2])
    with eq:
        st.markdown(f"**Update {k} → {k + 1}** (t = {k + 1}), learning rate α = {rec['lr'][k]:.4g}")
        for line in substituted(who, opt.convention, {**hp, "lr": float(rec["lr"][k])}, rec, k):
            st.latex(line)
    with pic:
        plot(step_figure(uri, surface.domain, surface.minima, rec["params"], k, -rec["lr"][k] * rec["grads"][k],
                         opt.label, runs[chosen.index(who)].color, sty), key="stepfig")
    state.publish(SETTINGS)


_step_through()

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page: copy it to share this exact race.")
    table = trajectories_table([r.label for r in runs], [r.path for r in runs], [r.loss for r in runs],
                               [records[r.name]["lr"] for r in runs])
    download_buttons(race, table, f"descent-lab-race-{surface.name}")
state.publish(SETTINGS)
