"""The network page's edge-of-stability panel: each chosen optimizer trained on the whole
training set, its sharpness λ_max(∇²L) measured every few steps (surfaces.sharpness) and drawn
against its stability threshold, the loss under it, and the claim of the lesson "eos"."""

from __future__ import annotations

import streamlit as st

from lessons.network import EOS, LESSONS
from optim import OPTIMIZERS
from surfaces import network as N
from surfaces.sharpness import eos_record
from surfaces.training import default_init, make_data
from ui.cache import in_parallel
from ui.common import plot
from ui.lessons import changed, claim_box
from ui.state import S, Setting
from viz.sharpness import sharpness_figure
from viz.style import color_of

STEPS = (500, 1000, 2000, 3000, 5000)
EOS_SETTINGS = [Setting("eos", False, "bool"), Setting("eos_steps", 2000, "int", 500, 5000, options=STEPS)]
EVERY, ITERS = 10, 10
LABELS = {"gd": "2/α", "momentum": "(2 + 2β)/(α(1 − β))"}


@st.cache_data(max_entries=64, show_spinner=False)
def eos_run(data_key: tuple, sizes: tuple, act: str, loss: str, name: str, convention: str, hp: tuple, steps: int,
            seed: int) -> dict:
    """One optimizer's full-batch run with its sharpness (cached by the whole configuration)."""
    data = make_data(*data_key)
    params = N.init_mlp(seed, sizes, default_init(act))
    return eos_record(params, data.X_train, data.y_train, name, steps, dict(hp), act, loss, convention, EVERY, ITERS,
                      seed)


def eos_runs(data_key: tuple, sizes: tuple, act: str, loss: str, configs: dict, seed: int) -> dict:
    """``{EOS + name: run}`` for every chosen optimizer when the panel is on, else {}."""
    if not S.get("eos", False) or not configs:
        return {}
    with st.spinner("Full-batch training with the sharpness measured every 10 steps…", show_time=True):
        recs = in_parallel(eos_run, [(data_key, sizes, act, loss, n, opt.convention, tuple(sorted(hp.items())),
                                      int(S.eos_steps), seed) for n, (opt, hp) in configs.items()])
    return {EOS + n: r for n, r in zip(configs, recs)}


def eos_panel(checked: dict, configs: dict, style, settings, used, view) -> None:
    """The panel (a toggle, off by default) and, unless the page shows it already, the lesson's claim box."""
    st.subheader("Edge of stability (full batch)")
    if not st.toggle("Train on the whole training set and measure the sharpness λ_max(∇²L)", key=S.key("eos")):
        return
    st.select_slider("full-batch steps", STEPS, key=S.key("eos_steps"))
    runs = [dict(name=n, label=OPTIMIZERS[n].label, color=color_of(n, i), threshold_label=LABELS.get(n, ""),
                 **checked[EOS + n]) for i, n in enumerate(configs) if EOS + n in checked]
    if not runs:
        st.markdown("Choose an optimizer in the sidebar.")
        return
    plot(sharpness_figure(runs, style, log=S.get("logy", True)), key="eos")
    st.caption("Every update sees the whole training set (batch GD and its variants). The sharpness is the largest "
               f"eigenvalue of the loss's Hessian, measured every {EVERY} steps by {ITERS} "
               "steps of power iteration on Hessian-vector products (forward-over-reverse differentiation of the "
               "gradient, no Hessian formed), each warm-started from the last. On a quadratic, GD diverges along a "
               "direction whose curvature passes 2/α, EWMA momentum past (2 + 2β)/(α(1 − β)) (the race page's "
               "stability map); Adam's threshold bears on its preconditioned Hessian, which is not drawn.")
    eos = LESSONS["eos"]
    if S.preset != eos.key:
        claim_box(eos, eos.verdict(checked), changed(eos, settings, used, view))
