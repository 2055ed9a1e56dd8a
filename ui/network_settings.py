"""The small network's data and architecture settings, their widgets and the cached data set:
one definition for the network page and the loss-landscape page, which share these settings
through the URL (a network link opens the landscape with the same network)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import streamlit as st

from optim import OPTIMIZERS
from surfaces import network as N
from surfaces.training import make_data
from ui import state
from ui.common import GLOBAL_SETTINGS
from ui.lessons import FREE
from ui.state import S, Setting
from ui.widgets import log_options, optimizer_panel

M_OPTIONS = (40, 80, 100, 200, 300, 400, 600, 1000, 2000)
TEST_OPTIONS = (0.2, 0.25, 0.3, 0.4, 0.5)
WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256)
EPOCHS = (10, 20, 30, 50, 100, 200, 300, 500)
BATCHES = ("8", "16", "32", "64", "128", "m")
LAMBDAS = (0.0,) + log_options(1e-5, 1.0)

DATASET = Setting("data", "moons", "choice", choices=tuple(N.DATASETS))


def config(base: Mapping[str, Any], extra_after_batch: tuple[Setting, ...] = ()) -> list[Setting]:
    """The data, network, optimizers, batch and epochs settings, their defaults taken from ``base``
    (a page's first lesson) where it names them; ``extra_after_batch``: a page's own settings, in
    the URL after the batch size."""
    settings = [
        Setting("classes", 2, "int", 2, N.MAX_CLASSES),
        Setting("m", 300, "int", 40, 2000, options=M_OPTIONS),
        Setting("test", 0.25, "float", 0.2, 0.5, options=TEST_OPTIONS),
        Setting("seed", 0, "int", 0, 2**31 - 1),
        Setting("depth", 2, "int", 1, 6),
        Setting("width", 16, "int", 2, 256, options=WIDTHS),
        Setting("act", "tanh", "choice", choices=tuple(N.ACTIVATIONS)),
        Setting("loss", "cross_entropy", "choice", choices=tuple(N.LOSSES)),
        Setting("lam", 0.0, "float", 0.0, 1.0, options=LAMBDAS),
        Setting("opts", ["gd", "momentum", "rmsprop", "adam"], "multi", choices=tuple(OPTIMIZERS)),
        Setting("batch", "32", "choice", choices=BATCHES),
        *extra_after_batch,
        Setting("epochs", 100, "int", 10, 500, options=EPOCHS),
    ]
    return [replace(s, default=base.get(s.key, s.default)) for s in settings]


def noise_setting(name: str) -> Setting:
    """The noise σ, its default that of the data set ``name``."""
    return Setting("noise", N.DATASETS[name].noise, "float", 0.0, 1.0)


def load(page: str, lessons: Mapping[str, Any], preset: Setting, data: Setting, rest: list[Setting]) -> list[Setting]:
    """Load a network page's settings from the URL and the session, in the order each needs the
    last: the lesson menu (``preset``), then the data set (``data``), then the noise (its default
    the data set's) and ``rest``; what a lesson's link leaves unsaid is the lesson's.  Returns
    every setting of the page, in URL order."""
    state.load(GLOBAL_SETTINGS + [preset], page)
    fill = dict(lessons[S.preset].settings) if S.preset != FREE else {}
    state.load(GLOBAL_SETTINGS + [preset, data], page, fill)
    fill.setdefault("noise", N.DATASETS[S.data].noise)  # the noise of the data set the link names
    settings = GLOBAL_SETTINGS + [preset, data, noise_setting(S.data)] + rest
    state.load(settings, page, fill)
    return settings


def optimizers(side, hps: list[Setting], expanded) -> tuple[list[str], dict[str, Any]]:
    """The optimizers multiselect in ``side`` and one hyperparameter expander per chosen rule
    (open when ``expanded(chosen)``): the chosen names and each one's ``optimizer_panel``."""
    chosen = side.multiselect("optimizers", tuple(OPTIMIZERS), key=S.key("opts"),
                              format_func=lambda n: OPTIMIZERS[n].label)
    configs = {}
    for name in chosen:
        with side.expander(f"{OPTIMIZERS[name].label} hyperparameters", expanded=expanded(chosen)):
            configs[name] = optimizer_panel(name, hps)
    return chosen, configs


def dataset_changed():
    """A new data set: its own noise, and a class count it offers."""
    info = N.DATASETS[S.data]
    S.noise = info.noise
    if S.classes not in info.classes:
        S.classes = info.classes[0]


@st.cache_data(max_entries=32, show_spinner=False)
def dataset(name: str, m: int, noise: float, seed: int, k: int, test: float):
    return make_data(name, m, noise, seed, k, test)


def data_and_network(side, expanded: bool, seed_drives: str, describe: bool):
    """The "Data" and "Network and loss" expanders in ``side``; the data set's info.
    ``seed_drives``: what the seed's label says it sets; ``describe``: the data set's description
    under it."""
    with side.expander("Data", expanded=expanded):
        info = N.DATASETS[st.selectbox("data set", DATASET.choices, key=S.key("data"), on_change=dataset_changed,
                                       format_func=lambda n: N.DATASETS[n].label)]
        if describe:
            st.caption(info.description)
        if len(info.classes) > 1:
            st.slider("classes K", 2, N.MAX_CLASSES, key=S.key("classes"))
        st.select_slider("examples m (train + test)", M_OPTIONS, key=S.key("m"))
        st.slider("noise σ", 0.0, 1.0, step=0.01, key=S.key("noise"))
        st.select_slider("test fraction", TEST_OPTIONS, key=S.key("test"))
        st.number_input(f"seed ({seed_drives})", 0, 2**31 - 1, key=S.key("seed"))
    with side.expander("Network and loss", expanded=expanded):
        st.slider("hidden layers", 1, 6, key=S.key("depth"))
        st.select_slider("units per hidden layer", WIDTHS, key=S.key("width"))
        st.selectbox("activation", tuple(N.ACTIVATIONS), key=S.key("act"),
                     format_func=lambda a: N.ACTIVATIONS[a].label)
        st.selectbox("loss", tuple(N.LOSSES), key=S.key("loss"), format_func=lambda n: N.LOSSES[n].label)
        st.select_slider("L2 regularization λ", LAMBDAS, key=S.key("lam"), format_func=lambda v: f"{v:g}")
    return info
