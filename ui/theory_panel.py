"""The race page's theory panel (optim.theory on the page): the Hessian's model of the surface,
predicted against measured rates, the predicted envelope over the loss, the optimal settings and
the buttons that set them (or a learning rate just past the stability limit), and the
stability map with one dot per eigenvalue.  Also the eigenvectors drawn on the race figure."""

from __future__ import annotations

import numpy as np
import streamlit as st

from optim import OPTIMIZERS
from optim import theory as T
from ui.cache import surface_of
from ui.common import plot
from ui.state import S, Setting
from ui.widgets import hparam_setting
from viz.style import color_of
from viz.theory import Dots, add_eigen_arrows, envelope_figure, stability_map_figure

SHOW = Setting("theory", True, "bool")
THEORY_SETTINGS = [SHOW]
AS_PREDICTED = 2  # steps: the overflow step the page calls "as predicted" (tests/test_theory.py: within 2 %)


@st.cache_data(max_entries=64, show_spinner=False)
def quadratic(key: tuple) -> bool:
    """Whether the surface is a quadratic: the same Hessian at its minima, its domain's corners
    and centre."""
    s = surface_of(*key)
    (a, b), (c, d) = s.domain
    return T.is_quadratic(s.f, [*s.minima, (a, c), (b, d), (a, d), ((a + b) / 2, (c + d) / 2)])


@st.cache_data(max_entries=512, show_spinner=False)
def models(key: tuple, x0: tuple) -> tuple[T.LocalModel, tuple[T.LocalModel, ...]]:
    """The local quadratic model at the start and at each minimum of the surface."""
    s = surface_of(*key)
    return T.local_model(s.f, x0), tuple(T.local_model(s.f, m) for m in s.minima)


def eigen_arrows(fig, key: tuple, x0: tuple, domain, style) -> None:
    """The Hessian's eigenvectors at the start, on the race figure (when the panel is on)."""
    if S.get("theory", SHOW.default):
        m, _ = models(key, x0)
        if m.finite:
            add_eigen_arrows(fig, x0, m.eigvals, m.eigvecs, domain, style)


def _model_for(rec, minima, at_min, start, quad):
    """(the model that sets a run's asymptotic rate, its minimum): the quadratic's, or the local
    one at the minimum nearest to where the run ended; (None, None) without a minimum."""
    if not minima:
        return None, None
    end = np.asarray(rec["params"], np.float64)[(rec["diverged_at"] or len(rec["params"])) - 1]
    i = int(np.argmin([np.linalg.norm(end - np.asarray(m)) for m in minima])) if np.all(np.isfinite(end)) else 0
    return (start if quad else at_min[i]), np.asarray(minima[i], np.float64)


def _chp(name, cfg) -> dict:
    opt, hp = cfg
    return T.course_hp(name, hp, opt.convention)


def _fmt(x) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.4g}"


def _set(name: str, values: dict) -> None:
    for k, v in values.items():
        S[f"{name}.{k}"] = v


def _options(name: str, hp: str) -> tuple:
    h = next(h for h in OPTIMIZERS[name].hparams if h.name == hp)
    return hparam_setting(name, h).options


def theory_panel(key: tuple, surface, x0: tuple, configs: dict, records: dict, sched: str, noise: float, style) -> None:
    """The panel under the race (a toggle, on by default: ``theory`` in the URL)."""
    st.subheader("Theory: why it converges")
    if not st.toggle("Show the theory of the quadratic beside these runs", key=S.key("theory")):
        return
    quad = quadratic(key)
    start, at_min = models(key, x0)
    minima, fstar = surface.minima, surface.min_value  # f* costs a JAX call: once
    if not start.finite:
        st.markdown("The Hessian is not finite at the start: the theory has nothing to say here.")
        return
    if quad and not minima and start.mu > 0:  # a typed quadratic: its minimum is its model's
        minima, fstar, at_min = (tuple(start.stationary),), start.stationary_value, (start,)
    where = "everywhere (f is a quadratic: the theory is exact)" if quad else f"at the start {_pt(x0)}"
    txt = (f"**Hessian** {where}: eigenvalues {', '.join(f'{v:.4g}' for v in start.eigvals)}"
           + (f", κ = {start.kappa:.4g}" if start.mu > 0 else ""))
    if start.saddle:
        txt += " — a **saddle**: along the negative eigenvalue's direction every rule moves away, whatever α"
    if not quad:
        txt += ("; at the minimum " + "; ".join(f"{_pt(m)}: {', '.join(f'{v:.4g}' for v in mm.eigvals)}"
                                               f" (κ = {mm.kappa:.4g})" for m, mm in zip(minima, at_min))
                if minima else "") + ". The theory is **local** here: the quadratic model of f near a point."
    st.markdown(txt)
    applies = sched == "constant" and noise == 0
    if not applies:
        st.markdown("The rates below assume a constant learning rate and exact gradients: with this schedule or "
                    "noise the theory does not predict them (the measured ones are shown).")
    rows, curves, notes = [], [], []
    for name, rec in records.items():
        model, xstar = _model_for(rec, minima, at_min, start, quad)
        label = OPTIMIZERS[name].label
        params = np.asarray(rec["params"], np.float64)
        pred = meas = None
        n = 0
        if xstar is not None:
            dist = np.linalg.norm(params - xstar, axis=1)
            floor = 1e-30 * dist[0] + 1e-6 * float(np.max(np.abs(xstar)))
            meas, n = T.measured_rate(dist, floor), T.usable_steps(dist, floor)
        if name in T.THEORY and applies and model is not None and model.mu > 0:
            chp = _chp(name, configs[name])
            pred = T.worst_rate(name, chp, model.mu, model.L)
            lim = T.stability_limit(name, model.L, chp["beta"])
            if chp["lr"] > lim:
                notes.append(_past_limit(name, label, chp, lim, pred, model, quad, x0, xstar, rec))
        rows.append(f"| {label} | {_fmt(pred)} | {_fmt(meas)} |")
        gap = np.asarray(rec["loss"], np.float64) - (fstar or 0.0)
        curve = dict(name=name, label=label, color=color_of(name, len(curves)), gap=gap)
        if pred is not None and pred < 1 and fstar is not None and n > 1:
            curve.update(rho=pred, envelope=T.envelope(pred, gap, n // 2, n, power=2)[1])
        curves.append(curve)
    st.markdown("**Rate per step** (the factor by which the distance to the minimum shrinks, asymptotically): "
                "predicted from the Hessian's eigenvalues, measured on the run (the slope of its distance "
                "to the minimum over the second half of the run).\n\n| optimizer | predicted ρ | measured ρ |\n"
                "|---|---|---|\n" + "\n".join(rows))
    for n in notes:
        st.markdown(n)
    if fstar is not None:
        plot(envelope_figure(curves, style), key="theory-envelope")
    _optimal_settings(configs, start if quad else (at_min[0] if at_min else None), quad)
    _stability_map(configs, start, at_min if not quad else (), style, quad)


def _pt(p) -> str:
    return "(" + ", ".join(f"{float(v):.3g}" for v in p) + ")"


def _past_limit(name, label, chp, lim, rho, model, quad, x0, xstar, rec) -> str:
    """What the theory says of a learning rate above the stability limit, and when the run stopped."""
    text = (f"**{label}**: α = {chp['lr']:.4g} (course form) is above the stability limit {lim:.4g} for "
            f"λ_max = {model.L:.4g}: the steep direction grows by ρ = {rho:.4g} per step.")
    div = rec["diverged_at"]
    if not quad:
        return text + " (Local model at the minimum: the run may leave it first.)"
    steps = len(rec["params"]) - 1
    k = T.predicted_overflow(name, chp, model.hessian, np.asarray(x0, np.float64) - xstar, steps)
    if k is None:
        return text + f" The theory's path does not pass float32's largest number within {steps} steps."
    if div is not None and abs(div - k) <= AS_PREDICTED:
        return text + (f" Predicted divergence at step {k}; the run diverged at step {div}, as predicted (to "
                       f"{AS_PREDICTED} steps: the step at which f's float32 arithmetic overflows depends on how f "
                       "is written).")
    return text + f" Predicted divergence at step {k}; the run " + (
        f"diverged at step {div}." if div is not None else "did not diverge.")


def _optimal_settings(configs: dict, model, quad: bool) -> None:
    """The optimal settings of each theory rule on the run's spectrum, and the buttons."""
    names = [n for n in configs if n in T.THEORY]
    if not names:
        return
    if model is None or not model.mu > 0:
        st.markdown("The optimal settings need a minimum with positive curvature: this surface has none.")
        return
    mu, L = model.mu, model.L
    where = "" if quad else f" (local: the Hessian at the minimum {_pt(model.point)})"
    st.markdown(f"**Optimal constant settings** for eigenvalues in [μ, L] = [{mu:.4g}, {L:.4g}], κ = {L / mu:.4g}"
                f"{where}. No first-order method beats ρ = (√κ − 1)/(√κ + 1) = {T.lower_bound(mu, L):.4g} on every "
                "such function; the heavy ball attains it on a quadratic.")
    cols = st.columns(len(names))
    for col, name in zip(cols, names):
        opt, hp = configs[name]
        o = T.optimal(name, mu, L)
        lrs = _options(name, "lr")
        betas = _options(name, "beta") if name != "gd" else (0.0,)
        b = T.best_on_grid(name, mu, L, lrs, betas, opt.convention)
        beta_now = float(hp.get("beta", 0.0))
        lim = T.stability_limit(name, L, beta_now) * ((1 - beta_now) if opt.convention == "pytorch" else 1)
        past = next((v for v in lrs if v > lim * (1 + 1e-9)), None)
        label = opt.label
        col.markdown(f"**{label}**: α* = {o.lr:.4g}" + (f", β* = {o.beta:.4g}" if name != "gd" else "")
                     + f", ρ* = {o.rate:.4g}. On the sliders: α = {b.lr:g}" + (f", β = {b.beta:g}" if name != "gd"
                                                                                 else "")
                     + f" (ρ = {b.rate:.4g}). Stable for α < {lim:.4g}" + ("." if name == "gd" else " at this β."))
        best = {"lr": b.lr} if name == "gd" else {"lr": b.lr, "beta": b.beta}
        col.button(f"{label}: set α*" + ("" if name == "gd" else ", β*"), key=f"theory-best-{name}",
                   on_click=_set, args=(name, best), width="stretch")
        col.button(f"{label}: α past the limit", key=f"theory-past-{name}", on_click=_set,
                   args=(name, {"lr": past}), disabled=past is None, width="stretch")


def _stability_map(configs: dict, start, at_min, style, quad: bool) -> None:
    """The map of the plane (αλ, β), with the current settings as dots (one per eigenvalue > 0)."""
    names = [n for n in configs if n in T.THEORY]
    if not names:
        st.markdown("The stability map covers GD, momentum and Nesterov: add one of them to the race.")
        return
    dots = []
    for i, name in enumerate(names):
        chp = _chp(name, configs[name])
        sets = [(start, "at the start" if not quad else "", "circle")] + [
            (m, "at the minimum", "diamond") for m in at_min]
        for model, where, symbol in sets:
            lams = model.eigvals[model.eigvals > 0]
            dots.append(Dots(name, OPTIMIZERS[name].label, chp["lr"] * lams, chp["beta"], lams, color_of(name, i),
                             where, symbol))
    maps = ["momentum"] * any(n != "nesterov" for n in names) + ["nesterov"] * ("nesterov" in names)
    plot(stability_map_figure(maps, dots, style, local=not quad), key="theory-map")
    negative = start.eigvals[start.eigvals <= 0]
    st.caption("Each direction of the Hessian converges, oscillates or diverges by where its αλ and β put it: "
               "one dot per eigenvalue, for each rule's current setting (α in the course's form); the colour is "
               "the rate ρ per step." + (" Eigenvalues ≤ 0 (" + ", ".join(f"{v:.3g}" for v in negative)
                                         + ") have no dot: those directions move away at any α."
                                         if negative.size else "")
               + ("" if quad else " Local: the Hessian at the start (circles) and at the minimum (diamonds)."))
