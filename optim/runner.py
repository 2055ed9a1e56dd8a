"""The trajectory runner: every step of a run in one jitted ``lax.scan``.

Static (changing them compiles once): the optimizer entry (rule, convention, clipping), the
schedule, the problem (surface or model, batch layout), the number of steps and what is
recorded.  Everything a slider moves (hyperparameters, schedule parameters, noise σ, seed,
start point, data values) is traced, so moving it never recompiles.

A run never raises on divergence: from the first step whose parameters are not finite, the
parameters and the optimizer state stay frozen and ``diverged_at`` names that step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optim.rules import Optimizer, full_hp, get_optimizer
from optim.schedules import Schedule, full_schedule_params, get_schedule

tmap = jax.tree.map

FIELDS = ("params", "loss", "grads", "lr", "state")
STEP_BUCKETS = (512, 2048)


class Trajectory(NamedTuple):
    """A run, step by step (a leading run axis first for ``run_many``).

    params: (steps + 1, *x0.shape), ``params[0] == x0``.
    loss:   (steps + 1,) loss at each ``params[i]`` (full-data loss for mini-batch runs).
    grads:  (steps, *x0.shape) the gradient at ``params[i]`` with that step's noise or mini-batch,
            before clipping (Nesterov reads its own at the look-ahead point).
    lr:     (steps,) the learning rate of each update.
    state:  the optimizer state after each update, stacked, with the initial state first.
    epoch:  (steps,) the epoch of each update (mini-batch runs), else None.
    diverged_step: the first step whose parameters (or the loss there) were not finite, −1 if none.
    Fields that were not asked for in ``record`` are None.
    """

    params: Any
    loss: Any
    grads: Any
    lr: Any
    state: Any
    epoch: Any
    diverged_step: Any

    @property
    def diverged_at(self) -> int | None:
        """The first step whose params (or loss) are not finite, or None (single runs)."""
        k = int(self.diverged_step)
        return None if k < 0 else k


# --- problems: what is minimized, and what each step sees of it ----------------------------------


@dataclass(frozen=True)
class Plain:
    """A deterministic objective, optionally with simulated gradient noise σ·N(0, 1).

    ``data`` is ``{"sigma": σ}``.  With ``noisy``, the noise of every step is drawn before the
    scan (one vectorized draw) and is the same for every gradient read within a step,
    Nesterov's look-ahead included.  ``noisy`` is static: a noiseless run carries no random
    generator (it compiles ~3× faster); σ itself is traced."""

    grad_fn: Callable
    loss_fn: Callable | None = None
    noisy: bool = False

    def plan(self, key, data, steps, x0=None):
        if not self.noisy:
            return None, None
        leaves, treedef = jax.tree.flatten(x0)
        keys = jax.random.split(key, len(leaves))
        noise = [jax.random.normal(k, (steps, *jnp.shape(x)), jnp.result_type(x)) for x, k in zip(leaves, keys)]
        return jax.tree.unflatten(treedef, noise), None

    def grad(self, params, data, batch):
        g = self.grad_fn(params)
        if not self.noisy:
            return g
        return tmap(lambda g, z: g + data["sigma"] * z, g, batch)

    def loss(self, params, data):
        return self.loss_fn(params)


def reusing(g, params, grad_fn: Callable) -> Callable:
    """``grad_fn``, answering ``g`` when asked at ``params`` itself (the same traced object): a
    rule's gradient at W is not computed a second time in the compiled program (half the
    program, about half the compile time); Nesterov's look-ahead point still gets its own."""
    return lambda q: g if q is params else grad_fn(q)


def batch_plan(key, m: int, batch_size: int, epochs: int):
    """The course's ``random_mini_batches`` for every epoch: shuffle (a new permutation per
    epoch), then partition into ⌈m / batch_size⌉ mini-batches, the last one smaller.

    Returns ``idx`` and ``mask`` of shape (epochs · n_batches, batch_size): the last batch is
    padded with index 0 and mask 0 so that every step has the same shape.  A batch of the whole
    set (``batch_size ≥ m``) is batch GD: no shuffle, the examples in their order."""
    bs = min(batch_size, m)
    nb = math.ceil(m / bs)
    pad = nb * bs - m

    def one_epoch(e):
        perm = jax.random.permutation(jax.random.fold_in(key, e), m) if bs < m else jnp.arange(m)
        idx = jnp.concatenate([perm, jnp.zeros(pad, perm.dtype)]).reshape(nb, bs)
        mask = jnp.concatenate([jnp.ones(m), jnp.zeros(pad)]).reshape(nb, bs)
        return idx, mask

    idx, mask = jax.vmap(one_epoch)(jnp.arange(epochs))
    return idx.reshape(epochs * nb, bs), mask.reshape(epochs * nb, bs)


@dataclass(frozen=True)
class MiniBatch:
    """Per-example loss ``per_example_loss(params, x_i, y_i)`` on a data set ``(X, y)``:
    the gradient of each step is that of the mean loss over its mini-batch."""

    per_example_loss: Callable
    m: int
    batch_size: int

    @property
    def n_batches(self) -> int:
        return math.ceil(self.m / min(self.batch_size, self.m))

    def plan(self, key, data, steps, x0=None):
        epochs = steps // self.n_batches
        idx, mask = batch_plan(key, self.m, self.batch_size, epochs)
        return (idx, mask), jnp.arange(steps) // self.n_batches

    def batch_loss(self, params, data, batch):
        idx, mask = batch
        X, y = data
        losses = jax.vmap(self.per_example_loss, (None, 0, 0))(params, X[idx], y[idx])
        return jnp.sum(mask * losses) / jnp.sum(mask)

    def grad(self, params, data, batch):
        return jax.grad(self.batch_loss)(params, data, batch)

    def loss(self, params, data):
        X, y = data
        return jnp.mean(jax.vmap(self.per_example_loss, (None, 0, 0))(params, X, y))


# --- the scan -------------------------------------------------------------------------------------


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _select(pred, a, b):
    return tmap(lambda x, y: jnp.where(pred, x, y), a, b)


def _stack_first(first, rest):
    return tmap(lambda a, b: jnp.concatenate([jnp.asarray(a)[None], b]), first, rest)


def _freeze_from(k, first, rest):
    """Rows k, k + 1, … of ``rest`` replaced by row k − 1 (``first`` for k = 0): the tail of a
    run that stopped at step k."""
    def one(x0, xs):
        prev = jnp.concatenate([jnp.asarray(x0)[None], xs])[jnp.clip(k - 1, 0, None)]
        rows = jnp.arange(xs.shape[0]).reshape((-1,) + (1,) * (xs.ndim - 1))
        return jnp.where(rows + 1 >= k, prev, xs)
    return tmap(one, first, rest)


def _trajectory(opt: Optimizer, sched: Schedule, problem, steps: int, record: frozenset,
                decay_per_epoch: bool, x0, hp, sp, seed, data) -> Trajectory:
    """The scan.  A step is taken only if the new parameters are finite; when the loss is
    recorded, a step whose loss is not finite stops the run too (checked after the scan: the
    same result as refusing it inside, and XLA keeps the loop body lean).  The first refused
    step is ``diverged_step``; everything stays frozen from there."""
    key = jax.random.key(seed)
    has_loss = "loss" in record and not (isinstance(problem, Plain) and problem.loss_fn is None)
    batches, epoch = problem.plan(key, data, steps, x0)
    t_sched = (epoch if decay_per_epoch else jnp.arange(steps)).astype(jnp.float32)
    state0 = opt.init(x0)

    def body(carry, xs):
        p, st, div = carry
        i, t, batch = xs
        lr_t = sched.fn(t, hp["lr"], sp)
        grad_fn = partial(problem.grad, data=data, batch=batch)
        g = grad_fn(p)
        p_new, st_new = opt.step(reusing(g, p, grad_fn), p, st, {**hp, "lr": lr_t})
        alive = div < 0
        ok = _all_finite(p_new)
        take = alive & ok
        p_out, st_out = _select(take, p_new, p), _select(take, st_new, st)
        div = jnp.where(alive & ~ok, i + 1, div)
        out = {
            "params": p_out if "params" in record else None,
            "loss": jnp.asarray(problem.loss(p_out, data), jnp.float32) if has_loss else None,
            "grads": g if "grads" in record else None,
            "lr": lr_t,
            "state": st_out if "state" in record else None,
        }
        return (p_out, st_out, div), out

    (_, _, div), out = jax.lax.scan(
        body, (x0, state0, jnp.array(-1, jnp.int32)), (jnp.arange(steps), t_sched, batches), length=steps)
    params, state, loss = out["params"], out["state"], None
    if has_loss and steps:
        loss0 = jnp.asarray(problem.loss(x0, data), jnp.float32)
        bad = ~jnp.isfinite(out["loss"])
        first_bad = jnp.where(jnp.any(bad), jnp.argmax(bad) + 1, -1).astype(jnp.int32)
        div = jnp.where((first_bad > 0) & ((div < 0) | (first_bad < div)), first_bad, div)
        stop = jnp.where(div > 0, div, steps + 1)
        loss = _freeze_from(stop, loss0, out["loss"])
        params = _freeze_from(stop, x0, params) if params is not None else None
        state = _freeze_from(stop, state0, state) if state is not None else None
        loss = jnp.concatenate([loss0[None], loss])
    elif has_loss:
        loss = jnp.asarray(problem.loss(x0, data), jnp.float32)[None]
    return Trajectory(
        params=_stack_first(x0, params) if "params" in record else None,
        loss=loss,
        grads=out["grads"],
        lr=out["lr"] if "lr" in record else None,
        state=_stack_first(state0, state) if "state" in record else None,
        epoch=epoch,
        diverged_step=div,
    )


_STATIC = ("opt", "sched", "problem", "steps", "record", "decay_per_epoch")
_run_one = jax.jit(_trajectory, static_argnames=_STATIC)


@partial(jax.jit, static_argnames=_STATIC + ("axes",))
def _run_vmapped(opt, sched, problem, steps, record, decay_per_epoch, axes, x0, hp, sp, seed, data):
    fn = partial(_trajectory, opt, sched, problem, steps, record, decay_per_epoch)
    return jax.vmap(fn, in_axes=axes.axes())(x0, hp, sp, seed, data)


def compile_count() -> int:
    """How many distinct compilations the runner holds (a test and bench diagnostic)."""
    return _run_one._cache_size() + _run_vmapped._cache_size()


# --- public entry points ------------------------------------------------------------------------


def _floats(d: Mapping[str, Any]) -> dict[str, Any]:
    """Python floats for scalars (weak-typed: a new value never recompiles), float32 arrays else."""
    return {k: float(v) if np.ndim(v) == 0 else jnp.asarray(v, jnp.float32) for k, v in d.items()}


def _prepare(optimizer, schedule, schedule_params, convention, clip, record, hp):
    opt = get_optimizer(optimizer)
    if convention is not None or clip is not None:
        opt = opt.with_options(convention=convention, clip=clip)
    sched = get_schedule(schedule)
    unknown = set(record) - set(FIELDS)
    if unknown:
        raise ValueError(f"record takes {FIELDS}, not {sorted(unknown)}")
    return (opt, sched, frozenset(record), _floats(full_hp(opt, hp)),
            _floats(full_schedule_params(sched, schedule_params)))


def _as_params(x0):
    """float32 params (NumPy: no device round trip before the call); a flat tuple or list of
    numbers, like ``surface.start``, is one vector."""
    if isinstance(x0, (tuple, list)) and all(np.ndim(a) == 0 for a in x0):
        return np.asarray(x0, np.float32)
    return tmap(lambda a: np.asarray(a, np.float32), x0)


def _seed(seed) -> np.ndarray:
    """A seed as uint32 (the PRNG key is built inside the jitted run)."""
    return np.asarray(np.asarray(seed, np.int64) % 2**32, np.uint32)


def run(optimizer: str | Optimizer, grad_fn: Callable, x0, steps: int, *, loss_fn: Callable | None = None,
        schedule: str | Schedule = "constant", schedule_params: Mapping[str, float] | None = None,
        noise: float = 0.0, seed: int = 0, convention: str | None = None, clip: str | None = None,
        record: Iterable[str] = FIELDS, **hp) -> Trajectory:
    """Run ``steps`` updates of ``optimizer`` from ``x0`` on ``grad_fn`` (+ σ·N(0, 1) noise if
    ``noise`` > 0), the learning rate following ``schedule``.  ``hp``: the rule's hyperparameters
    (defaults from the registry).  Pass the same ``grad_fn`` / ``loss_fn`` objects from call to
    call (e.g. ``surface.grad``, ``surface.f``): they are part of the compilation key."""
    opt, sched, record, hp, sp = _prepare(optimizer, schedule, schedule_params, convention, clip, record, hp)
    return _run_one(opt, sched, Plain(grad_fn, loss_fn, noisy=float(noise) != 0.0), int(steps), record, False,
                    _as_params(x0), hp, sp, _seed(seed), {"sigma": float(noise)})


def run_minibatch(optimizer: str | Optimizer, per_example_loss: Callable, x0, X, y, *, epochs: int,
                  batch_size: int, seed: int = 0, schedule: str | Schedule = "constant",
                  schedule_params: Mapping[str, float] | None = None, decay_per: str = "step",
                  convention: str | None = None, clip: str | None = None,
                  record: Iterable[str] = FIELDS, **hp) -> Trajectory:
    """Batch GD (``batch_size ≥ m``), SGD (1) or mini-batch GD (between) on ``(X, y)``:
    each epoch shuffles (a JAX PRNG key from ``seed``) and makes one update per mini-batch.
    The schedule's ``t`` counts updates (``decay_per="step"``) or epochs (``"epoch"``)."""
    m = int(np.shape(X)[0])
    if m < 1:
        raise ValueError("the data set has no examples")
    if batch_size < 1:
        raise ValueError(f"the batch size must be at least 1, not {batch_size}")
    if decay_per not in ("step", "epoch"):
        raise ValueError(f"decay_per is 'step' or 'epoch', not {decay_per!r}")
    opt, sched, record, hp, sp = _prepare(optimizer, schedule, schedule_params, convention, clip, record, hp)
    problem = MiniBatch(per_example_loss, m, int(batch_size))
    data = (jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32))
    return _run_one(opt, sched, problem, int(epochs) * problem.n_batches, record, decay_per == "epoch",
                    _as_params(x0), hp, sp, _seed(seed), data)


def run_many(optimizer: str | Optimizer, grad_fn: Callable, x0s, steps: int, *,
             loss_fn: Callable | None = None, schedule: str | Schedule = "constant",
             schedule_params: Mapping[str, Any] | None = None, noise: Any = 0.0, seed: Any = 0,
             convention: str | None = None, clip: str | None = None,
             record: Iterable[str] = ("params", "loss"), **hp) -> Trajectory:
    """Many runs in one vmapped call: ``x0s`` has a leading axis of N runs (one start point
    each); any hyperparameter, schedule parameter, ``noise`` or ``seed`` may be an array of
    shape (N,) (one value per run) or a scalar (shared).  Every field gets the leading axis N."""
    opt, sched, record, hp, sp = _prepare(optimizer, schedule, schedule_params, convention, clip, record, hp)
    x0s = _as_params(x0s)
    n = jax.tree.leaves(x0s)[0].shape[0]
    for name, v in {**hp, **sp, "noise": noise, "seed": seed}.items():
        if np.ndim(v) not in (0,) and np.shape(v) != (n,):
            raise ValueError(f"{name} must be a scalar or have shape ({n},), not {np.shape(v)}")
    keys = np.broadcast_to(_seed(seed), (n,))
    data = {"sigma": float(noise) if np.ndim(noise) == 0 else jnp.asarray(noise, jnp.float32)}
    axes = (0, {k: None if np.ndim(v) == 0 else 0 for k, v in hp.items()},
            {k: None if np.ndim(v) == 0 else 0 for k, v in sp.items()}, 0,
            {"sigma": None if np.ndim(noise) == 0 else 0})
    axes_key = tuple(tuple(sorted(a.items())) if isinstance(a, dict) else a for a in axes)
    noisy = bool(np.any(np.asarray(noise) != 0))
    return _run_vmapped(opt, sched, Plain(grad_fn, loss_fn, noisy), int(steps), record, False,
                        _AxesKey(axes_key), x0s, hp, sp, keys, data)


class _AxesKey(tuple):
    """vmap's in_axes as a hashable static argument (dicts rebuilt from sorted pairs)."""

    def axes(self):
        return tuple(dict(a) if isinstance(a, tuple) else a for a in self)


def bucket_of(steps: int) -> int:
    """The step count a run of ``steps`` is compiled for: 512, 2048, or ``steps`` beyond that.
    Each step of a 2-D run costs microseconds, a compilation a second: moving a steps slider
    within a bucket never recompiles."""
    return next((b for b in STEP_BUCKETS if b >= steps), int(steps))


def surface_record(surface, optimizer: str | Optimizer, x0, steps: int, *, convention: str | None = None,
                   hp: Mapping[str, float] | None = None, schedule: str = "constant",
                   schedule_params: Mapping[str, float] | None = None, noise: float = 0.0,
                   seed: int = 0) -> dict[str, Any]:
    """One run on a 2-D ``surface`` as NumPy arrays: ``params`` and ``loss`` (steps + 1),
    ``grads`` and ``lr`` (steps), ``state.<field>`` (steps + 1) and ``diverged_at``.  Run for
    ``bucket_of(steps)`` steps and cut to ``steps``: the pages and the tests of their lessons
    get the same numbers from the same compiled program."""
    bucket = bucket_of(steps)
    tr = run(optimizer, surface.grad, np.asarray(x0, np.float32), bucket, loss_fn=surface.f, schedule=schedule,
             schedule_params=dict(schedule_params or {}), noise=noise, seed=seed, convention=convention,
             **dict(hp or {}))
    n = steps + 1
    div = tr.diverged_at if tr.diverged_at is not None and tr.diverged_at <= steps else None
    out = {"params": np.asarray(tr.params)[:n], "loss": np.asarray(tr.loss)[:n],
           "grads": np.asarray(tr.grads)[:steps], "lr": np.asarray(tr.lr)[:steps], "diverged_at": div}
    out.update({f"state.{k}": np.asarray(v)[:n] for k, v in tr.state._asdict().items()})
    return out
