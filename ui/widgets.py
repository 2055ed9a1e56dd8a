"""Widgets built from the registries: every optimizer's and schedule's sliders come from its
HParam entries (scale, range, default), with no per-optimizer UI code."""

from __future__ import annotations

import math

import streamlit as st

from optim import OPTIMIZERS, SCHEDULES, HParam
from ui.state import S, Setting

_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)


def log_options(low: float, high: float) -> tuple[float, ...]:
    """1, 1.5, 2, 3, 5, 7 × 10ᵏ between low and high (both included)."""
    out = {low, high}
    for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in _MANTISSAS:
            v = float(f"{m * 10.0**e:.6g}")
            if low <= v <= high:
                out.add(v)
    return tuple(sorted(out))


def log1m_options(low: float, high: float) -> tuple[float, ...]:
    """Values of β spaced evenly in log(1 − β): 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999 …"""
    gaps = log_options(max(1.0 - high, 1e-6), 1.0 - low if low > 0 else 1.0)
    return tuple(sorted({float(f"{1.0 - g:.6g}") for g in gaps} | ({0.0} if low == 0 else set())))


def options_of(hp: HParam) -> tuple[float, ...]:
    if hp.scale == "log":
        return log_options(hp.low, hp.high)
    if hp.scale == "log1m":
        return log1m_options(hp.low, hp.high)
    return ()


def _snap(value: float, options: tuple[float, ...]) -> float:
    return min(options, key=lambda o: abs(o - value)) if options else value


def hparam_setting(prefix: str, hp: HParam) -> Setting:
    """The URL setting ``prefix.name`` of a hyperparameter (its default snapped to the slider)."""
    opts = options_of(hp)
    return Setting(f"{prefix}.{hp.name}", _snap(hp.default, opts), "float", hp.low, hp.high, options=opts)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def hparam_widget(setting: Setting, hp: HParam, label: str | None = None, container=st) -> float:
    """A slider on the hyperparameter's scale (select-slider over log-spaced values for α, ε
    and β), keyed by the setting, labelled with its symbol."""
    label = label or f"${hp.symbol}$ · {hp.help}"
    if setting.options:
        return container.select_slider(label, options=setting.options, key=S.key(setting.key), format_func=_fmt)
    integer = hp.name in ("step_size", "total", "warmup")
    step = 1.0 if integer else float(f"{(hp.high - hp.low) / 200:.1g}")
    return container.slider(label, min_value=float(hp.low), max_value=float(hp.high), step=step,
                            key=S.key(setting.key), format="%.0f" if integer else "%.3g")


# --- optimizers ----------------------------------------------------------------------------------


def optimizer_settings(name: str, clip: bool = False) -> list[Setting]:
    """The URL settings of one optimizer: its hyperparameters and, if it has several, its
    convention (course or pytorch)."""
    opt = OPTIMIZERS[name]
    out = [hparam_setting(name, hp) for hp in opt.hparams]
    if len(opt.conventions) > 1:
        out.append(Setting(f"{name}.convention", "course", "choice", choices=opt.conventions))
    return out


def optimizer_panel(name: str, settings: list[Setting], container=st) -> tuple:
    """Sliders for one optimizer; returns (its registry entry with the chosen convention, hp)."""
    opt = OPTIMIZERS[name]
    by_key = {s.key: s for s in settings}
    hp = {h.name: hparam_widget(by_key[f"{name}.{h.name}"], h, container=container) for h in opt.hparams}
    conv_key = f"{name}.convention"
    if conv_key in by_key:
        container.radio("convention", opt.conventions, key=S.key(conv_key), horizontal=True,
                        format_func=lambda c: "course" if c == "course" else "PyTorch / optax",
                        help="The course's formula, or the other common convention of the same rule.")
        opt = opt.with_options(convention=S[conv_key])
    return opt, hp


def race_query(surface: str, optimizer: str, hp: dict[str, float], steps: int, x0, convention: str = "course"
               ) -> dict[str, str]:
    """The race page's query string for one run, every hyperparameter snapped as its sliders snap it."""
    q = {"surface": surface, "opts": optimizer, "steps": str(steps), "x0": f"{x0[0]:.6g}", "y0": f"{x0[1]:.6g}"}
    for h in OPTIMIZERS[optimizer].hparams:
        s = hparam_setting(optimizer, h)
        q[s.key] = s.encode(s.parse(f"{min(max(hp[h.name], h.low), h.high):.6g}"))
    if convention != "course":
        q[f"{optimizer}.convention"] = convention
    return q


# --- schedules -----------------------------------------------------------------------------------


def schedule_settings(prefix: str = "sched") -> list[Setting]:
    """The schedule's name and every schedule's parameters (only the chosen one's are shown)."""
    out = [Setting(prefix, "constant", "choice", choices=tuple(SCHEDULES))]
    for sched in SCHEDULES.values():
        out += [hparam_setting(f"{prefix}.{sched.name}", h) for h in sched.params]
    return out


def schedule_panel(settings: list[Setting], prefix: str = "sched", container=st) -> tuple[str, dict]:
    """A schedule picker with its formula and its parameters' sliders; returns (name, params)."""
    by_key = {s.key: s for s in settings}
    name = container.selectbox("learning-rate schedule", tuple(SCHEDULES), key=S.key(prefix),
                               format_func=lambda n: SCHEDULES[n].label)
    sched = SCHEDULES[name]
    container.latex(sched.latex)
    params = {h.name: hparam_widget(by_key[f"{prefix}.{name}.{h.name}"], h, container=container)
              for h in sched.params}
    return name, params
