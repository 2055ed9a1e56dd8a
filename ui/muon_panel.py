"""The network page's parts for today's rules: the note that schedule-free AdamW ignores the page's
schedule, and, when Muon is chosen, the singular values of one hidden layer's last update for every
run (Muon's orthogonalized step against the others')."""

from __future__ import annotations

import streamlit as st

from ui.common import plot
from viz.network import NetRun, update_spectrum_figure

OWN_SCHEDULE_NOTE = ("Schedule-free AdamW ignores this schedule: it runs at a constant α, since averaging its "
                     "iterates is its schedule.")
LAYER = 1  # the weight matrix from the first hidden layer to the second: width × width
NS_RANGE = (0.68, 1.21)  # where Newton–Schulz sends singular values ≥ 0.2 % of the norm (tests/test_lessons_today.py)


def hidden_layer(runs: list[NetRun]) -> int | None:
    """The index of the hidden-to-hidden weight matrix the panel draws, or None (one hidden layer)."""
    return LAYER if runs and len(runs[0].rec["update_sv"]) > LAYER + 1 else None


def update_panel(runs: list[NetRun], style) -> None:
    """Shown when Muon is among ``runs``: each run's last update of the hidden-to-hidden weights,
    its singular values divided by the largest."""
    if not any(r.name == "muon" for r in runs):
        return
    st.subheader("One step of a hidden layer: Muon's orthogonalized update")
    layer = hidden_layer(runs)
    if layer is None:
        st.info("Muon orthogonalizes the update of each weight matrix: choose two hidden layers or more to see "
                "the update of a hidden-to-hidden matrix.", icon=":material/info:")
        return
    plot(update_spectrum_figure(runs, layer, style), key="update_sv")
    st.caption("The last update ΔW of the weights from hidden layer 1 to hidden layer 2, its singular values "
               "σ₁ ≥ σ₂ ≥ … divided by the largest. Muon's step is α NS(v̄) ≈ α U Vᵀ for its momentum "
               "v̄ = U Σ Vᵀ: Newton–Schulz sends every singular value of v̄ above 0.2 % of its norm to between "
               f"{NS_RANGE[0]} and {NS_RANGE[1]}, and leaves those near 0 near 0: orthogonalizing cannot create a "
               "direction the gradients do not move (a network that fits its data well has few). The lesson "
               "“Orthogonalized updates: Muon” compares its step with AdamW's.")
