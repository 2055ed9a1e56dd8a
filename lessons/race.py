"""The optimizer race's lessons: the race lessons of the home page's path (the page's lesson
menu), and the caption of every surface, a claim about the page's default race on it (the
default optimizers at their default hyperparameters, ``DEFAULT_STEPS`` steps, from the
surface's start).

``runs`` maps an optimizer's name to what ``optim.runner.surface_record`` returns (the page
caches the same): ``params`` (steps + 1, 2), ``loss`` (steps + 1,), ``diverged_at``.  Every
check is ``check(runs, surface) -> Verdict``; the tolerance on f − f* is the claim's own
(``TOL``), not the page's table setting.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from lessons.core import Lesson, Verdict, missing
from optim.metrics import diagnose_divergence, gd_stability_limit, path_length
from optim.rules import OPTIMIZERS
from optim.runner import surface_record
from surfaces import SURFACES, Surface

PAGE = "race"
DEFAULT_OPTS = ("gd", "momentum", "rmsprop", "adam")
DEFAULT_STEPS = 300
TOL = 1e-3
Runs = Mapping[str, Mapping[str, Any]]


# --- measures on one run --------------------------------------------------------------------------


def _label(name: str) -> str:
    return OPTIMIZERS[name].label


def _last(rec) -> int:
    """The last step of a run that counts: the one before its divergence, or its end."""
    div = rec["diverged_at"]
    return div - 1 if div is not None else len(rec["loss"]) - 1


def gap(rec, surface: Surface) -> np.ndarray:
    """f − f* at every step (f alone on a surface without a minimum)."""
    return np.asarray(rec["loss"], np.float64) - (surface.min_value or 0.0)


def reached(rec, surface: Surface, tol: float = TOL) -> int | None:
    """The first step with f − f* ≤ ``tol`` before any divergence, or None."""
    hit = np.flatnonzero(gap(rec, surface)[: _last(rec) + 1] <= tol)
    return int(hit[0]) if hit.size else None


def end_point(rec) -> np.ndarray:
    return np.asarray(rec["params"], np.float64)[_last(rec)]


def grad_norm(surface: Surface, point) -> float:
    return float(jnp.linalg.norm(surface.grad(jnp.asarray(point, jnp.float32))))


def principal_axes(surface: Surface) -> tuple[np.ndarray, np.ndarray, float]:
    """(steep, flat, λ_max): the eigenvectors of the Hessian at the minimum with the largest and
    smallest eigenvalue, and the largest eigenvalue."""
    w, v = np.linalg.eigh(np.asarray(jax.hessian(surface.f)(jnp.asarray(surface.minima[0], jnp.float32)), np.float64))
    return v[:, -1], v[:, 0], float(w[-1])


def zigzag(rec, direction, until: int | None = None) -> tuple[int, int, float]:
    """Across a valley whose steep direction is ``direction``: (reversals, steps, travel) over the
    first ``until`` steps (all of them by default): how many times the step's component along it
    changed sign, out of how many steps, and Σ |step · direction|."""
    p = np.asarray(rec["params"], np.float64)[: (until or _last(rec)) + 1]
    along = np.diff(p, axis=0) @ np.asarray(direction, np.float64)
    flips = int(np.sum(along[1:] * along[:-1] < 0))
    return flips, max(len(along) - 1, 0), float(np.sum(np.abs(along)))


def _n(x: float) -> str:
    return f"{x:.3g}"


# --- the path's race lessons ----------------------------------------------------------------------


def check_zigzag(runs: Runs, surface: Surface, tol: float = TOL, gd_share: float = 0.9,
                 share: float = 0.2, travel: float = 0.2) -> Verdict:
    """GD reverses across the valley (its step along the steep axis changes sign) at ≥ ``gd_share``
    of its steps and never reaches f − f* ≤ tol; every other run reverses at ≤ ``share`` of its
    steps on its way to the tolerance, travels across the valley ≤ ``travel`` × GD's distance, and
    reaches the tolerance."""
    if v := missing(runs, ("gd",), _label):
        return v
    if len(runs) < 2:
        return Verdict(None, "add momentum or Nesterov to compare with GD")
    steep, _, lam = principal_axes(surface)
    g_flips, g_steps, g_travel = zigzag(runs["gd"], steep)
    g_hit = reached(runs["gd"], surface, tol)
    ok = g_hit is None and g_flips >= gd_share * g_steps and runs["gd"]["diverged_at"] is None
    parts = [f"GD reversed across the valley at {g_flips} of {g_steps} steps, travelled {_n(g_travel)} across it, "
             + (f"f − f* ≤ {tol:g} at step {g_hit}" if g_hit is not None else
                f"never reached f − f* ≤ {tol:g} (ends at {_n(gap(runs['gd'], surface)[_last(runs['gd'])])})")]
    for name, rec in runs.items():
        if name == "gd":
            continue
        hit = reached(rec, surface, tol)
        flips, steps, dist = zigzag(rec, steep, hit)
        ok &= hit is not None and flips <= share * max(steps, 1) and dist <= travel * g_travel
        parts.append(f"{_label(name)} reversed {flips} times in {steps} steps, travelled {_n(dist)}, "
                     + (f"f − f* ≤ {tol:g} at step {hit}" if hit is not None else f"never reached f − f* ≤ {tol:g}"))
    return Verdict(bool(ok), f"steep axis curvature λ = {_n(lam)} (2/λ = {_n(2 / lam)}); " + "; ".join(parts))


def check_plateau(runs: Runs, surface: Surface, tol: float = TOL, crawl: float = 0.01) -> Verdict:
    """GD moves less than ``crawl`` of its distance to the minimum; every other run reaches f − f* ≤ tol."""
    if v := missing(runs, ("gd",), _label):
        return v
    if len(runs) < 2:
        return Verdict(None, "add an adaptive method (RMSprop, AdaGrad, Adam) to compare with GD")
    p = np.asarray(runs["gd"]["params"], np.float64)
    far = float(np.linalg.norm(p[0] - np.asarray(surface.minima[0])))
    moved = float(np.linalg.norm(end_point(runs["gd"]) - p[0]))
    ok = moved < crawl * far
    parts = [f"gradient at the start {grad_norm(surface, p[0]):.1e}; GD moved {moved:.2g} of the {_n(far)} to the "
             f"minimum ({100 * moved / far:.2g} %)"]
    for name, rec in runs.items():
        if name != "gd":
            hit = reached(rec, surface, tol)
            ok &= hit is not None
            parts.append(f"{_label(name)}: " + (f"f − f* ≤ {tol:g} at step {hit}" if hit is not None else
                                                 f"f − f* = {_n(gap(rec, surface)[_last(rec)])} at the end"))
    return Verdict(bool(ok), "; ".join(parts))


def check_adam_family(runs: Runs, surface: Surface, tol: float = TOL, far: float = 1.0) -> Verdict:
    """Adam and Nadam reach f − f* ≤ tol, Nadam first; Adamax ends with f − f* > ``far``;
    momentum reaches the tolerance before Adam."""
    if v := missing(runs, ("adam", "nadam", "adamax", "momentum"), _label):
        return v
    hit = {n: reached(runs[n], surface, tol) for n in runs}
    end = {n: float(gap(runs[n], surface)[_last(runs[n])]) for n in runs}
    a, na, mo = hit["adam"], hit["nadam"], hit["momentum"]
    ok = (a is not None and na is not None and na < a and end["adamax"] > far
          and mo is not None and mo < a)
    return Verdict(bool(ok), "; ".join(
        f"{_label(n)}: " + (f"f − f* ≤ {tol:g} at step {hit[n]}" if hit[n] is not None else
                            f"f − f* = {_n(end[n])} after {_last(runs[n])} steps")
        for n in ("nadam", "adam", "momentum", "adamax")))


def sign_steps(rec) -> tuple[float, float]:
    """(λ̂, worst) for a run whose every step should be Lion's, ΔW = −α_t (±1 + λ W): the decay λ̂
    fitted by least squares to ΔW − α_t sign(ΔW) = −α_t λ W, and the largest deviation of any
    coordinate's step from ±α_t − α_t λ̂ W, in units of α_t (0 for exact sign steps)."""
    p = np.asarray(rec["params"], np.float64)[: _last(rec) + 1]
    d, w = np.diff(p, axis=0), p[:-1]
    a = np.asarray(rec["lr"], np.float64)[: len(d), None]
    r = d - a * np.sign(d)
    aw = a * w
    lam = float(-np.sum(r * aw) / np.sum(aw * aw)) if np.sum(aw * aw) > 0 else 0.0
    return lam, float(np.max(np.abs(r + lam * aw) / a)) if len(d) else 0.0


def check_sign_descent(runs: Runs, surface: Surface, tol: float = TOL, exact: float = 1e-3, shrink: float = 0.01,
                       late: int = 100, hop: float = 1e-4, settled: float = 1e-5) -> Verdict:
    """Every step of Lion moves each coordinate by ±α_t (plus α_t λ̂ W, λ̂ its fitted decay) within
    ``exact`` α_t; Adam's last step is below ``shrink`` α in each coordinate; Lion reaches f − f* ≤ tol
    before Adam; over the last ``late`` steps Lion's f − f* rises above ``hop`` and Adam's stays below
    ``settled``."""
    if v := missing(runs, ("lion", "adam"), _label):
        return v
    lion, adam = runs["lion"], runs["adam"]
    lam, worst = sign_steps(lion)
    last = np.abs(np.diff(np.asarray(adam["params"], np.float64)[_last(adam) - 1: _last(adam) + 1], axis=0))[0]
    a_end = float(adam["lr"][_last(adam) - 1])
    hit = {n: reached(runs[n], surface, tol) for n in ("lion", "adam")}
    tail = {n: float(gap(runs[n], surface)[max(_last(runs[n]) - late + 1, 0): _last(runs[n]) + 1].max())
            for n in ("lion", "adam")}
    ok = (worst <= exact and np.all(last < shrink * a_end) and hit["lion"] is not None
          and (hit["adam"] is None or hit["lion"] < hit["adam"]) and tail["lion"] > hop and tail["adam"] < settled)
    return Verdict(bool(ok), f"Lion's {_last(lion)} steps: every coordinate moved ±α"
                   + (f" − αλW (λ fitted {lam:.3g})" if abs(lam) > 1e-4 else "")
                   + f" to within {worst:.1e} α; Adam's last step ({last[0]:.1e}, {last[1]:.1e}) = "
                   f"({last[0] / a_end:.1e} α, {last[1] / a_end:.1e} α); f − f* ≤ {tol:g} at step: "
                   + ", ".join(f"{_label(n)} {hit[n] if hit[n] is not None else 'never'}" for n in hit)
                   + f"; highest f − f* over the last {late} steps: Lion {tail['lion']:.2g}, Adam {tail['adam']:.2g}")


def curvature(surface: Surface, point) -> float:
    """λ_max: the largest eigenvalue of the Hessian of f at ``point``."""
    h = jax.hessian(surface.f)(jnp.asarray(point, jnp.float32))
    return float(np.linalg.eigvalsh(np.asarray(h, np.float64))[-1])


def check_flat_minima(runs: Runs, surface: Surface, near_sharp: float = 0.05, near_flat: float = 0.15,
                      crosses: float = 0.1, factor: float = 5.0, floor: float = 1e-3, before: float = 0.3) -> Verdict:
    """GD reaches the valley's floor (|y| ≤ ``floor``) at least ``before`` from the global (sharp)
    minimum, then ends within ``near_sharp`` of it, its α below 2/λ_max there; SAM's path passes
    within ``crosses`` of that minimum, and SAM ends within ``near_flat`` of the surface's local
    (flat) minimum, where λ_max is at most 1/``factor`` of GD's, and f is higher than GD's."""
    if v := missing(runs, ("gd", "sam"), _label):
        return v
    if not surface.minima or not surface.local_minima:
        return Verdict(None, "the claim compares a sharp and a flat minimum: choose the surface "
                             "“Sharp and flat minima”")
    sharp, flat = np.asarray(surface.minima[0]), np.asarray(surface.local_minima[0])
    gd, sam = runs["gd"], runs["sam"]
    g_end, s_end = end_point(gd), end_point(sam)
    lam_g, lam_s = curvature(surface, g_end), curvature(surface, s_end)
    d_g, d_s = float(np.linalg.norm(g_end - sharp)), float(np.linalg.norm(s_end - flat))
    path = np.asarray(sam["params"], np.float64)[: _last(sam) + 1]
    closest = float(np.min(np.linalg.norm(path - sharp, axis=1)))
    g_path = np.asarray(gd["params"], np.float64)[: _last(gd) + 1]
    on_floor = np.flatnonzero(np.abs(g_path[:, 1] - sharp[1]) <= floor)
    floor_at = int(on_floor[0]) if on_floor.size else None
    floor_far = float(np.linalg.norm(g_path[floor_at] - sharp)) if floor_at is not None else 0.0
    lr = float(gd["lr"][0])
    f_g, f_s = (float(surface.f(jnp.asarray(p, jnp.float32))) for p in (g_end, s_end))
    ok = (gd["diverged_at"] is None and sam["diverged_at"] is None and floor_far >= before and d_g <= near_sharp
          and lr < 2 / lam_g
          and closest <= crosses and d_s <= near_flat and factor * lam_s <= lam_g and f_s > f_g)
    floor_text = (f"GD on the floor (|y| ≤ {floor:g}) at step {floor_at}, {_n(floor_far)} from the sharp minimum; "
                  if floor_at is not None else "GD never reached the floor; ")
    return Verdict(bool(ok), floor_text + f"GD ends {_n(d_g)} from the sharp minimum ({sharp[0]:.3g}, {sharp[1]:.3g}), "
                   f"f = "
                   f"{_n(f_g)}, λ_max = {_n(lam_g)} (α = {lr:g}, 2/λ_max = {_n(2 / lam_g)}); SAM's path passes "
                   f"{_n(closest)} from it, SAM ends {_n(d_s)} from the flat minimum ({flat[0]:.3g}, {flat[1]:.3g}), "
                   f"f = {_n(f_s)}, λ_max = {_n(lam_s)} ({lam_g / lam_s:.3g}× flatter)")


def _race(surface: str, opts: tuple[str, ...], steps: int, **lrs: float) -> dict[str, Any]:
    """The race page's settings of a lesson: surface, start (the surface's), optimizers, steps and
    their learning rates (the other hyperparameters at their defaults)."""
    x0, y0 = map(float, SURFACES[surface].start)
    return {"surface": surface, "x0": x0, "y0": y0, "opts": list(opts), "steps": steps,
            **{f"{name}.lr": float(lr) for name, lr in lrs.items()}}


LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in [
        Lesson(
            "momentum", "Momentum damps the zig-zag",
            "On an ill-conditioned bowl GD, at the largest rate the steep direction allows, zig-zags across the "
            "valley and never settles; momentum averages the gradients, damps the zig-zag and gets to the minimum.",
            PAGE, _race("bowl", ("gd", "momentum", "nesterov"), 100, gd=0.1, momentum=0.1, nesterov=0.1),
            "The bowl's steep direction (y, curvature 20) allows plain GD at most α = 2/20 = 0.1. There each GD "
            "step multiplies y by 1 − αλ = −1: GD crosses the valley floor at every step and never settles "
            "(f − f* stays above 10⁻³). Momentum and Nesterov (β = 0.9) at the same α average the gradients, and "
            "successive steep gradients, of opposite signs, cancel in v: on their way to f − f* ≤ 10⁻³, which both "
            "reach within the 100 steps, they reverse across the valley at most once every five steps and travel "
            "across it less than a fifth as far as GD.",
            check_zigzag,
        ),
        Lesson(
            "plateau", "Adaptive rates cross a plateau",
            "On a plateau the gradient is nearly zero: GD crawls; RMSprop, AdaGrad and Adam divide by its running "
            "size and cross.",
            PAGE, _race("plateau", ("gd", "rmsprop", "adagrad", "adam"), 300, gd=0.5, rmsprop=0.05, adagrad=0.5,
                        adam=0.05),
            "At the start (4, 3.2) the gradient is about 10⁻⁵: GD, even at α = 0.5, moves less than 1 % of the way "
            "to the minimum in 300 steps. RMSprop, AdaGrad and Adam divide each step by the gradient's running "
            "size, so their steps do not shrink with it: all three cross the plateau and reach f − f* ≤ 10⁻³.",
            check_plateau,
        ),
        Lesson(
            "adam_family", "Adam and its family",
            "Momentum plus RMSprop plus bias correction, on Rosenbrock's curved valley, with Adamax and Nadam beside "
            "it, and plain momentum for comparison: Adam's strength is needing little tuning, not winning every race.",
            PAGE, _race("rosenbrock", ("adam", "adamax", "nadam", "momentum"), 1000, adam=0.05, adamax=0.05,
                        nadam=0.05, momentum=0.01),
            "On Rosenbrock's curved valley at α = 0.05, Adam and Nadam follow the floor to (1, 1): both reach "
            "f − f* ≤ 10⁻³ within 1,000 steps, Nadam (Adam with a Nesterov look-ahead) first. Adamax divides by "
            "the largest recent gradient instead of their root mean square: its steps along the flat floor are "
            "smaller and after 1,000 steps it is still far (f − f* > 1). Momentum at its default α = 0.01 reaches "
            "the tolerance too, and before Adam.",
            check_adam_family,
        ),
        Lesson(
            "sign_descent", "Sign descent: Lion",
            "Lion keeps only the sign of its momentum: every coordinate moves by exactly ±α, on the flat axis as on "
            "the steep one, where Adam's steps shrink with its gradients.",
            PAGE, _race("bowl", ("lion", "adam"), 1000, lion=0.01, adam=0.01),
            "Lion's update is the sign of a momentum: with no weight decay (λ = 0) every one of its 1,000 steps moves "
            "x and y by exactly ±α = ±0.01 (with a decay λ, by ±α − αλW), on the flat axis x as on the steep one y. "
            "Adam's first step is also α in each coordinate, but its steps shrink where its gradients do: its last "
            "one is below α/100. Lion crosses the bowl first (f − f* ≤ 10⁻³ before Adam), but its steps cannot "
            "shrink: it keeps hopping around the minimum by α, and over its last 100 steps f − f* still rises above "
            "10⁻⁴, while Adam's stays below 10⁻⁵.",
            check_sign_descent,
        ),
        Lesson(
            "flat_minima", "Flat minima: SAM",
            "SAM takes each gradient at the worst point of a small ball around W: it walks over a narrow pit "
            "where GD falls in, and settles in a wide, flat minimum.",
            PAGE, {**_race("sharp_flat", ("gd", "sam"), 1000, gd=0.01, sam=0.01), "sam.rho": 0.4},
            "The same α = 0.01 and start for both. GD slides down to the valley's floor (|y| ≤ 10⁻³ while still "
            "0.3 or more from the pit), then along it into the narrow pit at the origin, the lowest point "
            "(f* ≈ −0.17), and stays there: the largest curvature "
            "there is λ_max ≈ 140, and α is below 2/λ_max. SAM over GD (ρ = 0.4) takes each gradient at "
            "W + ρ g/‖g‖, a point ρ away, beyond a pit much narrower than ρ: its path crosses the pit (within "
            "0.1 of its centre) without stopping, and it ends in the wide minimum at (0.8, 0), where λ_max = 20 is "
            "at least 5× smaller, though its loss there is higher: SAM trades loss for flatness.",
            check_flat_minima,
        ),
    ]
}


# --- the surfaces' captions: what the default race shows -----------------------------------------


def _default_race(check: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """A caption's check: it needs the four runs of the default race."""
    def wrapped(runs: Runs, surface: Surface) -> Verdict:
        v = missing(runs, DEFAULT_OPTS, _label)
        if v:
            return Verdict(None, "the caption describes the default race: " + v.detail)
        return check(runs, surface)
    wrapped.__doc__ = check.__doc__
    return wrapped


def _ends(runs: Runs, names=DEFAULT_OPTS) -> list[np.ndarray]:
    return [end_point(runs[n]) for n in names]


def _spread(points) -> float:
    """The largest distance between two of ``points``."""
    p = np.asarray(points)
    return float(np.max(np.linalg.norm(p[:, None] - p[None], axis=2)))


def _reach_text(runs: Runs, surface: Surface, names=DEFAULT_OPTS) -> str:
    return ", ".join(f"{_label(n)} {reached(runs[n], surface) if reached(runs[n], surface) is not None else 'never'}"
                     for n in names)


def caption_bowl(runs: Runs, surface: Surface) -> Verdict:
    """Every run ends with its steep coordinate within 1 % of the valley floor and its flat one
    more than 1 % of its start away from the minimum; RMSprop ends lowest."""
    steep, flat, _ = principal_axes(surface)
    m = np.asarray(surface.minima[0])
    ok, parts = True, []
    for n in DEFAULT_OPTS:
        p0, p1 = np.asarray(runs[n]["params"][0], np.float64) - m, end_point(runs[n]) - m
        s, f = abs(p1 @ steep) / abs(p0 @ steep), abs(p1 @ flat) / abs(p0 @ flat)
        ok &= s <= 0.01 < f
        parts.append(f"{_label(n)} steep {100 * s:.2g} %, flat {100 * f:.2g} % of the start")
    ends = {n: float(gap(runs[n], surface)[_last(runs[n])]) for n in DEFAULT_OPTS}
    ok &= min(ends, key=ends.get) == "rmsprop"
    final = ", ".join(f"{_label(n)} {_n(v)}" for n, v in ends.items())
    return Verdict(bool(ok), "; ".join(parts) + "; final f: " + final)


def caption_rosenbrock(runs: Runs, surface: Surface) -> Verdict:
    """GD's α is above 2/λ at the start and it diverges within 10 steps; the others reach the floor
    (|y − x²| < 0.1) within 10 steps and none reaches f − f* ≤ 10⁻³."""
    limit = gd_stability_limit(surface.f, runs["gd"]["params"][0])
    div = runs["gd"]["diverged_at"]
    ok = div is not None and div <= 10 and float(runs["gd"]["lr"][0]) > limit
    parts = [f"GD: 2/λ at the start {_n(limit)}, diverged at step {div}"]
    for n in DEFAULT_OPTS[1:]:
        p = np.asarray(runs[n]["params"], np.float64)
        floor = np.flatnonzero(np.abs(p[:, 1] - p[:, 0] ** 2) < 0.1)
        t = int(floor[0]) if floor.size else None
        ok &= t is not None and t <= 10 and reached(runs[n], surface) is None
        parts.append(f"{_label(n)} on the floor at step {t}, f − f* = {_n(gap(runs[n], surface)[_last(runs[n])])} "
                     "at the end")
    return Verdict(bool(ok), "; ".join(parts))


def caption_beale(runs: Runs, surface: Surface) -> Verdict:
    """Every run ends farther from the minimum than it started; GD's loss rises above its start
    and its path is ≥ 5× longer than any other run's."""
    m = np.asarray(surface.minima[0])
    d0 = float(np.linalg.norm(np.asarray(runs["gd"]["params"][0]) - m))
    dist = {n: float(np.linalg.norm(end_point(runs[n]) - m)) for n in DEFAULT_OPTS}
    lengths = {n: path_length(np.asarray(runs[n]["params"])[: _last(runs[n]) + 1]) for n in DEFAULT_OPTS}
    g = gap(runs["gd"], surface)
    ok = (all(d > d0 for d in dist.values()) and g.max() > g[0]
          and all(lengths["gd"] >= 5 * v for n, v in lengths.items() if n != "gd"))
    return Verdict(bool(ok), f"distance to the minimum {_n(d0)} at the start, at the end "
                   + ", ".join(f"{_label(n)} {_n(v)}" for n, v in dist.items())
                   + f"; GD's highest f {_n(g.max())} against {_n(g[0])} at the start; path lengths "
                   + ", ".join(f"{_label(n)} {_n(v)}" for n, v in lengths.items()))


def caption_himmelblau(runs: Runs, surface: Surface) -> Verdict:
    """Every run ends nearest the same minimum; GD reaches f − f* ≤ 10⁻³ first, momentum next,
    RMSprop and Adam not within the run."""
    minima = np.asarray(surface.minima)
    nearest = {n: int(np.argmin(np.linalg.norm(minima - end_point(runs[n]), axis=1))) for n in DEFAULT_OPTS}
    hit = {n: reached(runs[n], surface) for n in DEFAULT_OPTS}
    ok = (len(set(nearest.values())) == 1 and hit["gd"] is not None and hit["momentum"] is not None
          and hit["gd"] < hit["momentum"] and hit["rmsprop"] is None and hit["adam"] is None)
    at = ", ".join(f"{_label(n)} ({minima[i][0]:.3g}, {minima[i][1]:.3g})" for n, i in nearest.items())
    return Verdict(bool(ok), f"nearest minimum at the end: {at}; f − f* ≤ 10⁻³ at step: {_reach_text(runs, surface)}")


def caption_rastrigin(runs: Runs, surface: Surface) -> Verdict:
    """Momentum, RMSprop and Adam end within 0.05 of each other at a point with f − f* > 10; GD's
    α is above 2/λ there and it still travels ≥ 1 over its last 50 steps."""
    others = DEFAULT_OPTS[1:]
    ends = _ends(runs, others)
    where = ends[-1]
    limit = gd_stability_limit(surface.f, where)
    f_end = float(gap(runs["adam"], surface)[_last(runs["adam"])])
    p = np.asarray(runs["gd"]["params"], np.float64)
    late = path_length(p[-51:])
    ok = _spread(ends) < 0.05 and f_end > 10 and float(runs["gd"]["lr"][0]) > limit and late >= 1
    return Verdict(bool(ok), f"momentum, RMSprop, Adam end within {_n(_spread(ends))} of each other near "
                   f"({where[0]:.2f}, {where[1]:.2f}), f − f* = {_n(f_end)}; 2/λ there {_n(limit)}; GD travelled "
                   f"{_n(late)} over its last 50 steps")


def caption_saddle(runs: Runs, surface: Surface) -> Verdict:
    """Every run ends with |y| ≥ 10 |x|, f < 0 and falling; GD and momentum pass within 0.5 of
    the saddle point, RMSprop and Adam stay more than 1 away."""
    ok, parts = True, []
    for n in DEFAULT_OPTS:
        p, f = np.asarray(runs[n]["params"], np.float64), gap(runs[n], surface)
        x, y = end_point(runs[n])
        closest = float(np.min(np.linalg.norm(p, axis=1)))
        near = closest < 0.5 if n in ("gd", "momentum") else closest > 1.0
        ok &= abs(y) >= 10 * abs(x) and f[-1] < 0 and f[-1] < f[-2] and near
        parts.append(f"{_label(n)} closest {_n(closest)}, ends at ({_n(x)}, {_n(y)}), f = {_n(f[-1])}")
    return Verdict(bool(ok), "; ".join(parts))


def caption_monkey_saddle(runs: Runs, surface: Surface) -> Verdict:
    """Every run ends within 20° of the valley at θ = 60°; GD and momentum diverge downhill
    (diagnosed "unbounded"), RMSprop and Adam end with f < −50."""
    ok, parts = True, []
    for n in DEFAULT_OPTS:
        x, y = end_point(runs[n])
        angle = math.degrees(math.atan2(y, x))
        rec = runs[n]
        diag = diagnose_divergence(rec["loss"], rec["params"], rec["diverged_at"], surface.f)
        f_end = float(gap(rec, surface)[_last(rec)])
        ran_off = diag is not None and diag.cause == "unbounded" if n in ("gd", "momentum") else f_end < -50
        ok &= abs(angle - 60) <= 20 and ran_off
        parts.append(f"{_label(n)} at θ = {angle:.0f}°, " + (f"diverged at step {rec['diverged_at']} ({diag.cause})"
                                                             if diag else f"f = {_n(f_end)}"))
    return Verdict(bool(ok), "; ".join(parts))


def caption_plateau(runs: Runs, surface: Surface) -> Verdict:
    """GD and momentum move less than 10⁻³; RMSprop and Adam move more than 2 and end with
    f − f* > 0.1."""
    moved = {n: float(np.linalg.norm(end_point(runs[n]) - np.asarray(runs[n]["params"][0]))) for n in DEFAULT_OPTS}
    ends = {n: float(gap(runs[n], surface)[_last(runs[n])]) for n in DEFAULT_OPTS}
    ok = (moved["gd"] < 1e-3 and moved["momentum"] < 1e-3 and all(moved[n] > 2 and ends[n] > 0.1
                                                                   for n in ("rmsprop", "adam")))
    return Verdict(bool(ok), f"gradient at the start {grad_norm(surface, runs['gd']['params'][0]):.1e}; moved: "
                   + ", ".join(f"{_label(n)} {moved[n]:.2g}" for n in DEFAULT_OPTS) + "; f − f* at the end: "
                   + ", ".join(f"{_label(n)} {_n(ends[n])}" for n in DEFAULT_OPTS))


def _same_local_minimum(least: float) -> Callable[[Runs, Surface], Verdict]:
    def check(runs: Runs, surface: Surface) -> Verdict:
        ends = _ends(runs)
        f_end = {n: float(gap(runs[n], surface)[_last(runs[n])]) for n in DEFAULT_OPTS}
        ok = _spread(ends) < 0.02 and min(f_end.values()) > least
        return Verdict(bool(ok), f"the four ends lie within {_n(_spread(ends))} of each other, near "
                       f"({ends[0][0]:.2f}, {ends[0][1]:.2f}); f − f* there: "
                       + ", ".join(f"{_label(n)} {_n(v)}" for n, v in f_end.items()))
    check.__doc__ = f"The four runs end within 0.02 of each other, every one with f − f* > {least:g}."
    return check


def caption_booth(runs: Runs, surface: Surface) -> Verdict:
    """GD and momentum reach f − f* ≤ 10⁻³; RMSprop and Adam do not, their paths shorter than half
    the distance from the start to the minimum."""
    d0 = float(np.linalg.norm(np.asarray(runs["gd"]["params"][0]) - np.asarray(surface.minima[0])))
    lengths = {n: path_length(np.asarray(runs[n]["params"])) for n in ("rmsprop", "adam")}
    ok = (reached(runs["gd"], surface) is not None and reached(runs["momentum"], surface) is not None
          and all(reached(runs[n], surface) is None and v < 0.5 * d0 for n, v in lengths.items()))
    return Verdict(bool(ok), f"f − f* ≤ 10⁻³ at step: {_reach_text(runs, surface)}; distance to the minimum "
                   f"{_n(d0)}, path lengths RMSprop {_n(lengths['rmsprop'])}, Adam {_n(lengths['adam'])}")


def caption_goldstein_price(runs: Runs, surface: Surface) -> Verdict:
    """GD and momentum diverge within 5 steps; RMSprop and Adam stay finite and end ≥ 10× below
    their start."""
    div = {n: runs[n]["diverged_at"] for n in DEFAULT_OPTS}
    ratio = {n: float(runs[n]["loss"][0] / runs[n]["loss"][_last(runs[n])]) for n in ("rmsprop", "adam")}
    ok = (all(div[n] is not None and div[n] <= 5 for n in ("gd", "momentum"))
          and all(div[n] is None and ratio[n] >= 10 for n in ("rmsprop", "adam")))
    return Verdict(bool(ok), f"GD diverged at step {div['gd']}, momentum at {div['momentum']}; f fell "
                   + ", ".join(f"{ratio[n]:.0f}× for {_label(n)}" for n in ratio))


def caption_sharp_flat(runs: Runs, surface: Surface, near: float = 0.02, by: int = 150, away: float = 0.3) -> Verdict:
    """Every run reaches f − f* ≤ 10⁻³ within ``by`` steps and ends within ``near`` of the global
    (sharp) minimum; no run's path comes within ``away`` of the local (flat) one."""
    sharp, flat = np.asarray(surface.minima[0]), np.asarray(surface.local_minima[0])
    ok, parts = True, []
    for n in DEFAULT_OPTS:
        p = np.asarray(runs[n]["params"], np.float64)[: _last(runs[n]) + 1]
        hit, d = reached(runs[n], surface), float(np.linalg.norm(p[-1] - sharp))
        closest = float(np.min(np.linalg.norm(p - flat, axis=1)))
        ok &= hit is not None and hit <= by and d <= near and closest > away
        parts.append(f"{_label(n)}: f − f* ≤ 10⁻³ at step {hit}, ends {_n(d)} from the pit's minimum, never nearer "
                     f"than {_n(closest)} to the wide one")
    return Verdict(bool(ok), "; ".join(parts))


_CAPTIONS: dict[str, tuple[str, Callable[[Runs, Surface], Verdict]]] = {
    "bowl": ("Curvatures 1 along x and κ = 20 along y. In the default race (α = 0.01) every run first drops into "
             "the valley, |y| within 1 % of its start by the end, then crawls along the flat x axis: none gets x "
             "within 1 % of the minimum in 300 steps. RMSprop, which rescales each axis by its own gradient size, "
             "gets furthest (lowest f).", caption_bowl),
    "rosenbrock": ("A curved, flat-bottomed valley. At α = 0.01 plain GD is far above the stability limit of the "
                   "steep walls where it starts (2/λ ≈ 0.001) and diverges within a few steps. Momentum, RMSprop and "
                   "Adam find the valley floor (|y − x²| < 0.1) within 10 steps, then follow it slowly: none reaches "
                   "f − f* ≤ 10⁻³ in 300 steps.", caption_rosenbrock),
    "beale": ("Sharp ridges and flat arms. From (−1, 1.5) every run slides along a flat arm away from the minimum "
              "at (3, 0.5), ending farther from it than it started. GD's fixed step is too large on the ridge it "
              "meets: its loss rises above where it started and its path is at least 5× longer than any other's.",
              caption_beale),
    "himmelblau": ("Four minima, all with f = 0. From (0, −0.5) all four runs head for the same one, (3, 2). GD, "
                   "whose steps are large where the gradient is, gets there first, then momentum; RMSprop and Adam, "
                   "whose steps are about α each, are still on their way after 300 steps. Move the start to reach "
                   "another minimum.", caption_himmelblau),
    "rastrigin": ("Many local minima on a bowl. From (3.2, 2.3) momentum, RMSprop and Adam stop in the same nearby "
                  "local minimum, near (3, 2) at f ≈ 13, far above the global one (f = 0). GD's α = 0.01 is above "
                  "2/λ of these narrow pits (≈ 0.005): it settles in none and keeps jumping between them.",
                  caption_rastrigin),
    "saddle": ("No minimum: a saddle point at the origin. From (−1.8, 0.05) every run first heads for it along x, "
               "then leaves along y, downhill without end (f < 0 and still falling). GD and momentum pass close to "
               "the saddle (within 0.5), where the gradient and their steps are small; RMSprop and Adam, whose steps "
               "do not shrink with the gradient, turn away sooner (never within 1).", caption_saddle),
    "monkey_saddle": ("A flat saddle and no minimum: f = r³ cos 3θ falls without bound along three valleys. From "
                      "(1.5, 0.1) every run slides toward the origin and turns into the valley at θ = 60°: GD and "
                      "momentum run down it until the numbers overflow, RMSprop and Adam are below f = −50 after "
                      "300 steps.", caption_monkey_saddle),
    "plateau": ("Far from the minimum the gradient is nearly zero (about 10⁻⁵ at the start). GD and momentum, whose "
                "steps are α times the gradient, do not visibly move in 300 steps. RMSprop and Adam divide by the "
                "gradient's running size, so their steps are about α = 0.01 whatever its size: they travel 2 to 4 "
                "units across the plateau, but 300 such steps do not reach the minimum (f − f* > 0.1). Larger rates "
                "cross it: lesson 3.", caption_plateau),
    "six_hump_camel": ("Six local minima, two of them global (f ≈ −1.03). From (−1.6, 0.9) all four runs settle in the "
                       "same local minimum near (−1.70, 0.80), f ≈ −0.22: a descent method goes down from where it "
                       "starts, not to the lowest valley.", _same_local_minimum(0.5)),
    "ackley": ("A needle-shaped global minimum at the origin in a field of ripples. From (2.6, −3.1) all four runs "
               "stop in the same ripple, near (2.98, −2.98) at f ≈ 9, far from the needle (f* = 0).",
               _same_local_minimum(5.0)),
    "booth": ("A tilted quadratic bowl, its minimum (1, 3) about 13.5 from the start (−8, −7). GD and momentum, whose "
              "steps scale with the gradient, converge (f − f* ≤ 10⁻³ within 300 steps). RMSprop and Adam take steps "
              "of about α = 0.01 whatever the gradient: in 300 steps they cover less than half the way.",
              caption_booth),
    "goldstein_price": ("Values spanning six decades (f = 3 at the minimum, 1.6·10⁵ at the start). α = 0.01 is far "
                        "too large for the steep wall where the runs start: GD and momentum diverge within a few "
                        "steps. RMSprop and Adam, whose steps do not grow with the gradient, stay finite and end at "
                        "least 10× lower than they started.", caption_goldstein_price),
    "sharp_flat": ("A long valley, flat along x, whose wide minimum at (0.8, 0) has curvatures 0.4 and 20, with a "
                   "narrow pit at the origin on its floor (0.05 wide, curvature 140), 0.17 deeper: the global "
                   "minimum. From (−0.7, 0.4) all four runs fall into the pit: each "
                   "reaches f − f* ≤ 10⁻³ within 150 steps and ends within 0.02 of the pit's minimum, none comes "
                   "within 0.3 of the wide minimum. A descent method stops in the first minimum on its way, however "
                   "narrow; lesson “Flat minima: SAM” races SAM here.", caption_sharp_flat),
}

CAPTIONS: dict[str, Lesson] = {
    name: Lesson(name, SURFACES[name].label, text, PAGE, _race(name, DEFAULT_OPTS, DEFAULT_STEPS), text,
                 _default_race(check))
    for name, (text, check) in _CAPTIONS.items()
}


# --- the runs, as the page makes them -------------------------------------------------------------


def hparams(settings: Mapping[str, Any], name: str) -> dict[str, float]:
    """Optimizer ``name``'s hyperparameters in ``settings`` (``<name>.<hp>``), the registry's
    defaults for those not named."""
    return {h.name: float(settings.get(f"{name}.{h.name}", h.default)) for h in OPTIMIZERS[name].hparams}


def run_lesson(lesson: Lesson) -> dict[str, dict[str, Any]]:
    """One run per optimizer of the lesson, as the race page makes them (constant rate, no noise)."""
    v = lesson.settings
    surface = SURFACES[v["surface"]]
    return {name: surface_record(surface, name, (v["x0"], v["y0"]), int(v["steps"]), hp=hparams(v, name))
            for name in v["opts"]}


def measure(lesson: Lesson) -> Verdict:
    """The lesson's check on the runs its settings make."""
    return lesson.verdict(run_lesson(lesson), SURFACES[lesson.settings["surface"]])
