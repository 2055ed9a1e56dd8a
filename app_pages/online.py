"""Where Adam fails: Reddi et al.'s online problem, the iterates round after round and the average
regret, with the lesson menu and the claim box (lessons/online.py)."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from lessons.online import BASE, LESSONS, VARIANTS, beta2_of, cycles, run_variant
from surfaces.online import reddi
from ui import state
from ui.common import GLOBAL_SETTINGS, plot, style
from ui.export import download_buttons
from ui.lessons import changed, claim_box, lesson_menu, preset_setting
from ui.state import S, Setting
from ui.widgets import log_options
from viz.online import OnlineRun, online_figure, steps_figure

PAGE = "online"
FIRST = LESSONS["adam_fails"]
C_OPTIONS = (2.1, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
BETA1_OPTIONS = (0.0, 0.5, 0.9, 0.99)
LR_OPTIONS = log_options(1e-4, 1.0)
BETA2_OPTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999, 0.9999)
LARGE_OPTIONS = (0.5, 0.7, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999)
PRESET = preset_setting(LESSONS, FIRST.key)
SETTINGS = GLOBAL_SETTINGS + [PRESET] + [replace(s, default=BASE[s.key]) for s in [
    Setting("C", 3.0, "float", 2.01, 10.0, options=C_OPTIONS),
    Setting("steps", 3000, "int", 3, 20000),
    Setting("lr", 0.01, "float", 1e-4, 1.0, options=LR_OPTIONS),
    Setting("x0", 0.0, "float", -1.0, 1.0),
    Setting("beta1", 0.0, "float", 0.0, 0.99, options=BETA1_OPTIONS),
    Setting("paper", True, "bool"),
    Setting("beta2", 0.1, "float", 0.01, 0.9999, options=BETA2_OPTIONS),
    Setting("beta2_large", 0.999, "float", 0.5, 0.9999, options=LARGE_OPTIONS),
    Setting("runs", [], "multi", choices=tuple(VARIANTS)),
]]
VIEW = {"preset", "present"}  # no run depends on these


@st.cache_data(max_entries=256, show_spinner=False)
def online_run(name: str, items: tuple) -> dict:
    """One variant's run, cached by the settings it reads."""
    return run_variant(name, dict(items))


st.title("Where Adam fails")
st.caption("An online problem: each round t the loss is a new linear function f_t, and the learner must play x_t "
           "before it sees f_t. A rare large gradient against frequent small ones is enough to send Adam to the "
           "worst point (Reddi, Kale & Kumar, 2018).")
state.load(SETTINGS, PAGE)
state.show_warnings()

side = st.sidebar
lesson_menu(LESSONS, side)
chosen = side.multiselect("runs", tuple(VARIANTS), key=S.key("runs"),
                          format_func=lambda n: VARIANTS[n].label(state.values(SETTINGS)))
side.select_slider("C, the rare large gradient (C > 2)", C_OPTIONS, key=S.key("C"), format_func=lambda c: f"{c:g}")
side.select_slider("α, the learning rate of every run", LR_OPTIONS, key=S.key("lr"), format_func=lambda a: f"{a:g}")
side.select_slider("β₁ (momentum; the paper: 0)", BETA1_OPTIONS, key=S.key("beta1"), format_func=lambda b: f"{b:g}")
side.toggle("β₂ = 1/(1 + C²), the paper's", key=S.key("paper"))
if not S.paper:
    side.select_slider("β₂ of Adam, AMSGrad, RMSprop, Adamax, RAdam", BETA2_OPTIONS, key=S.key("beta2"),
                       format_func=lambda b: f"{b:g}")
side.select_slider("the large β₂", LARGE_OPTIONS, key=S.key("beta2_large"), format_func=lambda b: f"{b:g}")
side.slider("rounds T", 3, 20000, key=S.key("steps"), step=3)
side.slider("start x₁", -1.0, 1.0, key=S.key("x0"), step=0.05)

v = state.values(SETTINGS)
C, b2 = float(S.C), beta2_of(v)
if not chosen:
    st.info("Choose at least one run in the sidebar.")
    state.publish(SETTINGS)
    st.stop()

problem = reddi(C)
items = tuple(sorted((k, tuple(x) if isinstance(x, list) else x) for k, x in v.items() if k not in VIEW | {"runs"}))
records = {name: online_run(name, items) for name in chosen}
runs = [OnlineRun(name, VARIANTS[name].label(v), rec["x"], rec["regret"], i)
        for i, (name, rec) in enumerate(records.items())]
sty = style()
fig = online_figure(runs, problem.best, problem.box, sty)
plot(fig, key="online")
if lesson := LESSONS.get(S.preset):
    ignore = VIEW | ({"beta2"} if S.paper else set())  # the paper's β₂ replaces the slider's
    claim_box(lesson, lesson.verdict(records), changed(lesson, SETTINGS, (), ignore))

st.latex(rf"f_t(x) = \begin{{cases}} {C:g}\,x & t \bmod 3 = 1 \\ -x & \text{{otherwise}} \end{{cases}}"
         r",\qquad x \in [-1, 1]")
st.markdown(f"Over any three rounds the losses add up to ({C:g} − 2)·x: the best fixed point is **x\\* = −1**. The "
            f"regret of T rounds compares the learner with it: $R_T = \\sum_{{t \\le T}} f_t(x_t) - \\min_x "
            f"\\sum_{{t \\le T}} f_t(x)$. A method that learns has $R_T / T \\to 0$. Every run is projected back onto "
            f"[−1, 1] after each update; the small β₂ is {b2:.3g}.")
table = pd.DataFrame({"run": [r.label for r in runs], "final x": [float(r.x[-1]) for r in runs],
                      "average regret R_T / T": [float(r.regret[-1]) for r in runs],
                      "rounds at the worst point x = 1": [int((r.x[:-1] >= 1.0 - 1e-6).sum()) for r in runs]})
st.dataframe(table, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.3g") for c in table.columns[1:3]})

st.subheader("Why: the first rounds up close")
st.markdown(f"Adam divides each gradient by the root of its running mean square ŝ. With β₂ = {b2:.3g} that mean keeps "
            f"a fraction β₂ = {b2:.3g} of the large gradient's square after one round, β₂² = {b2 * b2:.2g} after two: "
            f"the large gradient {C:g} is soon forgotten, and the small ones, −1, are divided by a small ŝ. AMSGrad "
            "divides by the largest ŝ it has seen instead; a large β₂ keeps the large gradient in ŝ for many rounds. "
            "Measured on the first ten cycles of three rounds (steps after projection; shaded below: the rounds of "
            "the large gradient):")
st.markdown("\n".join(f"- **{r.label}**: {down:+.3g} on the large gradient's round, {up:+.3g} on each of the two "
                       f"others (mean): {net:+.3g} a cycle, {'up, away from' if net > 0 else 'down, towards'} x* = −1."
                       for r, (down, up, net) in ((r, cycles(r.x)) for r in runs)))
plot(steps_figure(runs, C, sty), key="steps")

with st.expander("Share and export"):
    st.markdown("The address bar holds every setting of this page: copy it to share these exact runs.")
    n = max(len(r.x) for r in runs)
    export = pd.DataFrame({"round t": range(1, n + 1)} | {f"x_t {r.label}": pd.Series(r.x) for r in runs}
                          | {f"R_t/t {r.label}": pd.Series(r.regret) for r in runs})
    download_buttons(fig, export, f"descent-lab-online-C{C:g}")
state.publish(SETTINGS)
