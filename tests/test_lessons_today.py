"""The lessons of today's rules measured with the engine, as their pages make the runs: flat minima
(SAM against GD on the race page and on the network page), no schedule needed (schedule-free AdamW
against AdamW with a cosine schedule) and orthogonalized updates (Muon against AdamW) on the
network page; each check refuses swapped or missing runs."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lessons import PATH
from lessons import network as NL
from lessons import race as R
from surfaces import SURFACES
from surfaces import network as N
from surfaces.sharpness import final_sharpness
from surfaces.training import fit, make_data

SHARP_FLAT = SURFACES["sharp_flat"]


def _with(lesson, **settings):
    return dataclasses.replace(lesson, settings={**lesson.settings, **settings})


# --- Flat minima: SAM against GD on the race page -------------------------------------------------------


@pytest.fixture(scope="module")
def flat_runs():
    return R.run_lesson(R.LESSONS["flat_minima"])


def test_flat_minima_holds_and_says_its_numbers(flat_runs):
    lesson = R.LESSONS["flat_minima"]
    v = lesson.verdict(flat_runs, SHARP_FLAT)
    assert v.holds is True, v.detail
    assert R.measure(lesson) == v
    gd, sam = R.end_point(flat_runs["gd"]), R.end_point(flat_runs["sam"])
    assert np.linalg.norm(gd - SHARP_FLAT.minima[0]) < 0.05 and np.linalg.norm(sam - SHARP_FLAT.local_minima[0]) < 0.15
    lam_gd, lam_sam = R.curvature(SHARP_FLAT, gd), R.curvature(SHARP_FLAT, sam)
    assert lam_gd == pytest.approx(140, rel=0.02) and lam_sam == pytest.approx(20, rel=0.02)
    assert f"{lam_gd:.3g}" in v.detail and f"{lam_sam:.3g}" in v.detail
    assert lesson.settings["gd.lr"] == lesson.settings["sam.lr"]  # the same α: only the probe differs


@pytest.mark.parametrize("dx", [-0.15, 0.0, 0.15])
@pytest.mark.parametrize("dy", [-0.15, 0.15])
@pytest.mark.parametrize("scale", [0.9, 1.1])
def test_flat_minima_holds_near_the_lessons_start_and_rate(dx, dy, scale):
    """Not one lucky point: starts 0.15 away and α 10 % off give the same verdict."""
    v = R.LESSONS["flat_minima"].settings
    lr = v["gd.lr"] * scale
    lesson = _with(R.LESSONS["flat_minima"], x0=v["x0"] + dx, y0=v["y0"] + dy, **{"gd.lr": lr, "sam.lr": lr})
    verdict = R.measure(lesson)
    assert verdict.holds is True, verdict.detail


@pytest.mark.parametrize("rho", [0.3, 0.5])
def test_flat_minima_holds_for_other_radii(rho):
    verdict = R.measure(_with(R.LESSONS["flat_minima"], **{"sam.rho": rho}))
    assert verdict.holds is True, verdict.detail


def test_sams_gradients_are_taken_beyond_the_pit_while_its_path_crosses_it(flat_runs):
    """The claim's why: SAM's gradient is taken at W + ρ g/‖g‖ (g = ∇f(W), what the run records):
    every such point lies at least 0.3 from the pit's centre, 6 σ of the pit's Gaussian, while
    SAM's own W passes within 0.1 of it.  GD, whose gradient is taken at W, stops there."""
    rho = R.LESSONS["flat_minima"].settings["sam.rho"]
    rec, pit = flat_runs["sam"], np.asarray(SHARP_FLAT.minima[0])
    w, g = np.asarray(rec["params"][:-1], np.float64), np.asarray(rec["grads"], np.float64)
    probes = w + rho * g / np.linalg.norm(g, axis=1, keepdims=True)
    assert np.min(np.linalg.norm(probes - pit, axis=1)) >= 0.3
    assert np.min(np.linalg.norm(w - pit, axis=1)) <= 0.1
    # the step SAM took is the gradient at its probe
    steps = -np.diff(np.asarray(rec["params"], np.float64), axis=0) / np.asarray(rec["lr"], np.float64)[:, None]
    at_probes = np.asarray(jax.vmap(SHARP_FLAT.grad)(probes[:50].astype(np.float32)))
    np.testing.assert_allclose(steps[:50], at_probes, rtol=2e-3, atol=2e-3)


def test_the_flat_minima_check_refuses_swapped_or_missing_runs(flat_runs):
    lesson = R.LESSONS["flat_minima"]
    swapped = {"gd": flat_runs["sam"], "sam": flat_runs["gd"]}
    assert lesson.verdict(swapped, SHARP_FLAT).holds is False
    assert lesson.verdict({"gd": flat_runs["gd"]}, SHARP_FLAT).holds is None
    assert lesson.verdict(flat_runs, SURFACES["bowl"]).holds is None  # no flat minimum named there
    # from just above the pit GD reaches the floor already in it: not the claim's slide along the floor
    v = R.measure(_with(lesson, x0=-0.1))
    assert v.holds is False and "GD on the floor" in v.detail
    # GD at ρ = 0 is SAM without its probe: it falls into the pit too
    assert R.measure(_with(lesson, **{"sam.rho": 0.0})).holds is False


def test_the_sharp_flat_caption_says_no_when_the_runs_do_not_bear_it_out():
    caption = R.CAPTIONS["sharp_flat"]
    assert R.measure(caption).holds is True
    assert R.measure(_with(caption, steps=100)).holds is False  # GD needs 122 steps to reach the pit
    assert R.measure(_with(caption, x0=0.9, y0=0.1)).holds is False  # from beside the wide minimum: all stay there
    assert caption.verdict({}, SHARP_FLAT).holds is None


def test_the_lessons_of_today_are_on_the_path():
    keys = [(le.page, le.key) for le in PATH]
    assert ("race", "flat_minima") in keys
    assert ("network", "no_schedule") in keys and ("network", "orthogonal") in keys
    assert ("network", "flat_network") in keys


# --- No schedule needed: schedule-free AdamW against AdamW with a cosine schedule --------------------


@pytest.fixture(scope="module")
def schedule_runs():
    return NL.run_lesson(NL.LESSONS["no_schedule"])


def test_no_schedule_holds_with_the_schedule_applied_to_adamw_only(schedule_runs):
    lesson = NL.LESSONS["no_schedule"]
    v = lesson.verdict(schedule_runs)
    assert v.holds is True, v.detail
    sf, aw = schedule_runs["schedule_free"], schedule_runs["adamw"]
    np.testing.assert_allclose(sf["lr"], 0.05)  # the page's cosine does not apply to schedule-free
    updates = lesson.settings["epochs"] * 8  # 225 training examples in mini-batches of 32
    assert updates == lesson.settings["sched.cosine.total"]
    t = np.arange(lesson.settings["epochs"]) * 8
    np.testing.assert_allclose(aw["lr"], 0.05 * 0.5 * (1 + np.cos(np.pi * t / updates)), rtol=1e-4, atol=1e-8)
    assert sf["train_loss"][-1] < aw["train_loss"][-1] and sf["test_acc"][-1] >= aw["test_acc"][-1]


def test_adamw_at_the_same_constant_rate_ends_at_least_5x_higher(schedule_runs):
    """The card's words: with the schedule set to constant, AdamW ends ≥ 5× above schedule-free,
    and the check says the claim's comparison is not there (AdamW did not decay)."""
    lesson = _with(NL.LESSONS["no_schedule"], sched="constant")
    runs = NL.run_lesson(lesson)
    np.testing.assert_allclose(runs["schedule_free"]["train_loss"], schedule_runs["schedule_free"]["train_loss"])
    assert runs["adamw"]["train_loss"][-1] >= 5 * runs["schedule_free"]["train_loss"][-1]
    v = lesson.verdict(runs)
    assert v.holds is False and "100.00% of α₀" in v.detail


def test_the_no_schedule_check_refuses_swapped_or_missing_runs(schedule_runs):
    check = NL.LESSONS["no_schedule"].check
    swapped = {"adamw": schedule_runs["schedule_free"], "schedule_free": schedule_runs["adamw"]}
    assert check(swapped).holds is False
    assert check({"adamw": schedule_runs["adamw"]}).holds is None


# --- Orthogonalized updates: Muon against AdamW ------------------------------------------------------


@pytest.fixture(scope="module")
def muon_runs():
    return NL.run_lesson(NL.LESSONS["orthogonal"])


def test_orthogonal_holds_on_the_lessons_runs(muon_runs):
    v = NL.LESSONS["orthogonal"].verdict(muon_runs)
    assert v.holds is True, v.detail
    sv = np.asarray(muon_runs["muon"]["update_sv"][1])
    assert sv.shape == (16,)
    # Muon's step is α U Vᵀ up to Newton–Schulz's tolerance: its largest singular values are about α
    assert 0.6 * 0.02 <= sv[0] <= 1.2 * 0.02
    assert NL.sv_median(muon_runs["muon"], 1) >= 0.5 and NL.sv_median(muon_runs["adamw"], 1) <= 0.1


@pytest.mark.parametrize("seed", [1, 2])
def test_orthogonal_holds_for_other_seeds(seed):
    assert NL.measure(_with(NL.LESSONS["orthogonal"], seed=seed)).holds is True


def test_the_orthogonal_check_refuses_swapped_or_missing_runs(muon_runs):
    check = NL.LESSONS["orthogonal"].check
    assert check({"muon": muon_runs["adamw"], "adamw": muon_runs["muon"]}).holds is False
    assert check({"muon": muon_runs["muon"]}).holds is None
    one_hidden = {k: {**r, "update_sv": r["update_sv"][:1] + r["update_sv"][2:]} for k, r in muon_runs.items()}
    assert check(one_hidden).holds is None


def test_the_panels_words_newton_schulz_sends_singular_values_to_its_range():
    """The Muon panel's caption: every singular value of v̄ above 0.2 % of ‖v̄‖ goes to within
    ``NS_RANGE``, those far below stay near 0."""
    from optim.rules_modern import newton_schulz
    from ui.muon_panel import NS_RANGE

    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    v, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    for low in (2e-3, 1e-2, 0.3):
        s = np.geomspace(1.0, low, 15)
        s = np.append(s, 1e-7) / np.linalg.norm(np.append(s, 1e-7))
        s[-2] = max(s[-2], 2e-3)  # the smallest kept value at least 0.2 % of the norm
        out = np.linalg.svd(np.asarray(newton_schulz(jnp.asarray(u @ np.diag(s) @ v.T, jnp.float32), 1e-7)),
                            compute_uv=False)
        assert NS_RANGE[0] <= out[:-1].min() and out.max() <= NS_RANGE[1], (low, out)
        assert out[-1] < 1e-3


# --- Flat minima on a network: SAM against GD ----------------------------------------------------------


@pytest.fixture(scope="module")
def flat_net_runs():
    return NL.run_lesson(NL.LESSONS["flat_network"])


def _flatness(runs) -> float:
    return runs["gd"][NL.LAMBDA_MAX] / runs["sam"][NL.LAMBDA_MAX]


def test_flat_network_holds_and_says_its_numbers(flat_net_runs):
    lesson = NL.LESSONS["flat_network"]
    v = lesson.verdict(flat_net_runs)
    assert v.holds is True, v.detail
    gd, sam = flat_net_runs["gd"], flat_net_runs["sam"]
    assert _flatness(flat_net_runs) >= 2
    assert f"{gd[NL.LAMBDA_MAX]:.3g}" in v.detail and f"{sam[NL.LAMBDA_MAX]:.3g}" in v.detail
    assert sam["test_loss"][-1] < gd["test_loss"][-1] and sam["test_acc"][-1] >= gd["test_acc"][-1]
    # the claim's setting: 40 training examples, the same α for both, λ = 0, the 3 × 64 ReLU network
    v_ = NL.values(lesson)
    data = make_data("moons", v_["m"], v_["noise"], v_["seed"], 2, v_["test"])
    assert len(data.y_train) == len(data.y_test) == 40
    assert v_["gd.lr"] == v_["sam.lr"] == 0.1 and v_["lam"] == 0.0 and v_["sam.rho"] == 0.15
    assert (v_["depth"], v_["width"], v_["act"]) == (3, 64, "relu")


def test_the_recorded_sharpness_is_lambda_max_at_the_final_weights(flat_net_runs):
    """What the check reads is a converged λ_max: GD's run made again, its sharpness at the final
    weights by 500 power-iteration steps from another start agrees to 1e-3."""
    v = NL.values(NL.LESSONS["flat_network"])
    data = make_data("moons", v["m"], v["noise"], v["seed"], 2, v["test"])
    params = N.init_mlp(v["seed"], N.mlp_sizes(3, 64, 2, 1), "he")
    f = fit(params, data, "gd", v["epochs"], 32, {"lr": 0.1}, v["seed"], "relu", "cross_entropy", 0.0)
    np.testing.assert_allclose(f.test_loss, flat_net_runs["gd"]["test_loss"], rtol=1e-6)
    slow = final_sharpness(f.params, data.X_train, data.y_train, "relu", "cross_entropy", 0.0, iters=500, seed=1)
    assert flat_net_runs["gd"][NL.LAMBDA_MAX] == pytest.approx(slow, rel=1e-3)


@pytest.mark.parametrize("seed", range(1, 10))
def test_sam_ends_at_least_2x_flatter_for_other_seeds(seed):
    runs = NL.run_lesson(_with(NL.LESSONS["flat_network"], seed=seed))
    assert _flatness(runs) >= 2, (seed, runs["gd"][NL.LAMBDA_MAX], runs["sam"][NL.LAMBDA_MAX])


@pytest.mark.parametrize("lr,rho", [(0.07, 0.15), (0.15, 0.15), (0.1, 0.1), (0.1, 0.2)])
def test_flat_network_holds_on_this_split_at_nearby_rates_and_radii(lr, rho):
    verdict = NL.measure(_with(NL.LESSONS["flat_network"], **{"gd.lr": lr, "sam.lr": lr, "sam.rho": rho}))
    assert verdict.holds is True, verdict.detail


def test_with_seed_10_sam_is_flatter_but_its_test_loss_is_higher():
    """The claim's last sentence: flatter does not guarantee a lower test loss."""
    lesson = _with(NL.LESSONS["flat_network"], seed=10)
    runs = NL.run_lesson(lesson)
    assert _flatness(runs) >= 2
    assert runs["sam"]["test_loss"][-1] > runs["gd"]["test_loss"][-1]
    assert lesson.verdict(runs).holds is False


def test_the_page_measures_the_sharpness_when_sam_is_chosen(muon_runs):
    assert NL.measures_sharpness(["adam", "sam"]) and not NL.measures_sharpness(["gd", "adam"])
    assert all(NL.LAMBDA_MAX not in r for r in muon_runs.values())  # no SAM: no sharpness, no cost


def test_the_flat_network_check_refuses_swapped_missing_unmeasured_or_diverged_runs(flat_net_runs):
    check = NL.LESSONS["flat_network"].check
    assert check({"gd": flat_net_runs["sam"], "sam": flat_net_runs["gd"]}).holds is False
    assert check({"gd": flat_net_runs["gd"]}).holds is None
    bare = {k: {f: x for f, x in r.items() if f != NL.LAMBDA_MAX} for k, r in flat_net_runs.items()}
    assert check(bare).holds is None
    v = check({**flat_net_runs, "sam": {**flat_net_runs["sam"], "diverged_epoch": 12}})
    assert v.holds is False and "diverged" in v.detail
    v = check({**flat_net_runs, "gd": {**flat_net_runs["gd"], NL.LAMBDA_MAX: float("nan")}})
    assert v.holds is False and "no ratio" in v.detail
    # SAM at ρ = 0 is GD: the same minimum, no flatter
    runs = NL.run_lesson(_with(NL.LESSONS["flat_network"], **{"sam.rho": 0.0}))
    assert _flatness(runs) == pytest.approx(1.0, rel=1e-4) and check(runs).holds is False
