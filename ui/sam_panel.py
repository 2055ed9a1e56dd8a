"""The network page's part for SAM: when SAM is among the optimizers (``lessons.network.
measures_sharpness``), the sharpness λ_max(∇²J) at each run's final weights, how flat the minimum it
ended in is (the runs' records hold it: ``lessons.network.run_record``)."""

from __future__ import annotations

import streamlit as st

from lessons.network import LAMBDA_MAX
from surfaces.sharpness import FINAL_ITERS
from ui.common import plot
from viz.network import NetRun, final_sharpness_figure


def sharpness_panel(runs: list[NetRun], style) -> None:
    """The bars of λ_max at the end, one per run, when the runs measured it."""
    if not any(LAMBDA_MAX in r.rec for r in runs):
        return
    st.subheader("Flat minima: the sharpness where each run ends")
    plot(final_sharpness_figure(runs, style), key="sam_sharpness")
    st.caption("λ_max(∇²J): the largest eigenvalue of the Hessian of the training objective J (every training "
               f"example, the run's λ included) at the run's final weights, by {FINAL_ITERS} steps of power "
               "iteration on Hessian-vector products (no Hessian formed). The smaller it is, the flatter the "
               "minimum: the less the training loss rises when the weights move. SAM descends the loss at the "
               "worst point of a ball of radius ρ around W. The table above has λ_max beside each run's test "
               "loss and train–test gap.")
