"""Batch, stochastic and mini-batch gradient descent on a data set: the logic and the pictures
of the data page (no Streamlit in here).

The runs compared have very different numbers of updates (an SGD epoch is m updates, a
batch-GD epoch is one), so the animation's clock is the epoch: a frame is a point of the way
through the epochs (``epoch_frames``), and each run's head stands at the update it had reached
at that point (``head_steps``).  Frames are subsampled, never the computed paths.

One figure carries the three animated views, so that one slider drives them all: the
full-batch loss surface with a path per batch size, the data with each run's current fit, and
the course's pseudo-code of one run with its current epoch and mini-batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.race import _clean, _comet
from viz.style import LOG_AXIS, Style, base_layout, controls_margin, controls_offset, play_controls
from viz.surface import Grid, add_surface_image, colorbar_trace, minima_trace
from viz.tables import trajectories_table

BATCH_CHOICES = ("1", "16", "32", "64", "128", "m")
# One colour per batch size (Okabe–Ito, colour-blind safe): SGD vermillion, batch GD blue; the
# sizes most often shown together (1, 16, 32, m) are the farthest apart.
BATCH_COLORS = {"1": "#D55E00", "16": "#CC79A7", "32": "#009E73", "64": "#E69F00", "128": "#56B4E9",
                "m": "#0072B2"}
PRESENTATION_DATA_HEIGHT = 540  # the animated figure in presentation mode: title, figure, controls in 720 px
BAR_LINES = 2.2  # the height of a horizontal colour bar and its labels, in lines of text
MAX_PATH_POINTS = 2000  # drawn points of a static path (a 100,000-update SGD path is drawn every k-th)
SEPARABLE_NORM = 20.0  # a logistic "optimum" this far out means Newton ran off: no minimum


# --- which runs: batch sizes, labels, colours ------------------------------------------------------


def batch_size_of(choice: str, m: int) -> int:
    """The number of examples per update: ``m`` for batch GD, and never more than ``m``."""
    return m if choice == "m" else min(int(choice), m)


def n_batches(m: int, batch: int) -> int:
    """Updates per epoch: ⌈m / b⌉ (the last mini-batch is smaller when b does not divide m)."""
    return math.ceil(m / min(batch, m))


def variant(batch: int, m: int) -> str:
    return "batch" if batch >= m else "sgd" if batch == 1 else "minibatch"


def run_label(choice: str, m: int) -> str:
    b = batch_size_of(choice, m)
    if b >= m:
        return f"batch GD (all {m})" if choice == "m" else f"batch GD ({choice} ≥ m = {m})"
    return "SGD (batch 1)" if b == 1 else f"mini-batch {b}"


def resolve_batches(choices: list[str], m: int) -> tuple[list[str], str | None]:
    """The runs to make (one per distinct number of examples per update, in the order chosen)
    and a note when some sizes are not smaller than the data set: those are batch GD."""
    seen, keep, big = set(), [], []
    for c in choices:
        if c != "m" and int(c) >= m:
            big.append(c)
        b = batch_size_of(c, m)
        if b not in seen:
            seen.add(b)
            keep.append(c)
    note = None
    if big:
        note = (f"Batch size {' and '.join(big)} ≥ m = {m} examples: a mini-batch cannot hold more than the "
                f"whole data set, so {'it is' if len(big) == 1 else 'they are'} batch GD (all {m} examples, one "
                "update per epoch)" + (", shown once." if len(big) + ("m" in choices) > 1 else "."))
    return keep, note


@dataclass(frozen=True)
class BatchRun:
    """One run of the comparison, as the figures need it."""

    key: str  # the batch choice ("1", "32", "m"): fixes the colour
    batch: int  # examples per update (≤ m)
    m: int
    path: np.ndarray  # (steps + 1, 2): every update
    lr: np.ndarray  # (steps,)
    loss_steps: np.ndarray  # the updates at which the full-data loss was evaluated
    loss: np.ndarray  # the full-data loss at those updates
    seconds: float  # wall-clock time of the updates (compilation excluded)
    end: int  # the last step to draw (the last finite one of a diverged run)
    note: str = ""
    rows: np.ndarray | None = None  # (steps, batch) example indices of each update, −1 = padding

    @property
    def n_batches(self) -> int:
        return n_batches(self.m, self.batch)

    @property
    def steps(self) -> int:
        return len(self.path) - 1

    @property
    def label(self) -> str:
        return run_label(self.key, self.m)

    @property
    def color(self) -> str:
        return BATCH_COLORS.get(self.key, "#7F7F7F")


# --- numbers under the figures ----------------------------------------------------------------------


@partial(jax.jit, static_argnums=0)
def _mean_losses(per_example_loss, P, X, y):
    return jax.vmap(lambda p: jnp.mean(jax.vmap(per_example_loss, (None, 0, 0))(p, X, y)))(P)


def mean_losses(model, P, chunk: int = 1024) -> np.ndarray:
    """The full-batch loss L(W) = (1/m) Σᵢ ℓ(W; xᵢ, yᵢ) at each row W of ``P`` (k, 2), in
    fixed-size jitted chunks: one compilation per data-set size, ~chunk · m floats at a time."""
    P = np.asarray(P, np.float32).reshape(-1, 2)
    pad = (-len(P)) % chunk
    Pp = np.concatenate([P, np.zeros((pad, 2), np.float32)])
    out = [np.asarray(_mean_losses(model.per_example_loss, Pp[i:i + chunk], model.X, model.y))
           for i in range(0, len(Pp), chunk)]
    return np.concatenate(out)[: len(P)] if out else np.zeros(0, np.float32)


def loss_grid(model, n: int = 300, budget: float = 3e7) -> Grid:
    """The full-batch loss on an n × n grid of the model's domain (for the surface image).  Each
    grid value costs m terms: past ``budget`` terms, the loss is computed on a coarser grid
    (at least 120 × 120) and interpolated bilinearly, which a smooth loss allows."""
    (x0, x1), (y0, y1) = model.surface.domain
    coarse = int(np.clip(math.sqrt(budget / model.m), 120, n))
    cx, cy = np.linspace(x0, x1, coarse, dtype=np.float32), np.linspace(y0, y1, coarse, dtype=np.float32)
    X, Y = np.meshgrid(cx, cy)
    z = mean_losses(model, np.stack([X, Y], axis=-1)).reshape(coarse, coarse).astype(np.float64)
    xs, ys = np.linspace(x0, x1, n, dtype=np.float32), np.linspace(y0, y1, n, dtype=np.float32)
    if coarse < n:
        z = np.stack([np.interp(xs, cx, row) for row in z])
        z = np.stack([np.interp(ys, cy, col) for col in z.T], axis=1)
    return Grid(xs, ys, z, model.surface.domain)


def loss_sample_steps(steps: int, nb: int, max_points: int = 1500) -> np.ndarray:
    """The updates at which the full-data loss is evaluated: all of them up to ``max_points``,
    else evenly spaced ones, log-spaced ones (the start, on a log axis) and every epoch's end."""
    if steps + 1 <= max_points:
        return np.arange(steps + 1)
    half = max_points // 2
    picks = [np.linspace(0, steps, half), np.geomspace(1, steps, half), np.arange(0, steps + 1, nb), [0, steps]]
    return np.unique(np.concatenate([np.round(p).astype(np.int64) for p in picks]))


def minibatch_rows(seed: int, m: int, batch: int, epochs: int) -> np.ndarray | None:
    """The example indices of every update, as ``optim.batch_plan`` draws them inside the run
    (epoch e shuffles with ``fold_in(key(seed), e)``, then splits), −1 for the padding of the
    last mini-batch; None for batch GD (every update sees all m examples)."""
    bs = min(batch, m)
    if bs >= m:
        return None
    nb = n_batches(m, bs)
    key = jax.random.key(int(seed))
    rows = [np.concatenate([np.asarray(jax.random.permutation(jax.random.fold_in(key, e), m)),
                            np.full(nb * bs - m, -1)]).reshape(nb, bs) for e in range(epochs)]
    return np.concatenate(rows).astype(np.int32)


def data_note(model) -> str | None:
    """What the student should know about this draw before reading the figures, or None."""
    if model.kind == "logistic" and np.linalg.norm(model.optimum) > SEPARABLE_NORM:
        return ("The two blobs are (almost) separable: the logistic loss keeps decreasing as ‖w‖ grows, so it has "
                "no minimum, and the ★ is only where Newton's method stopped. More noise or more examples give a "
                "true minimum.")
    return None


# --- the animation's clock -----------------------------------------------------------------------


def epoch_frames(epochs: int, max_nb: int, max_frames: int = 120) -> np.ndarray:
    """The (fractional) epochs shown by the frames: the same number of frames in every epoch
    (so that each epoch's end is a frame), at most one per update of the busiest run, at most
    ``max_frames`` in all (then whole epochs, evenly spaced)."""
    if epochs >= max_frames:
        return np.unique(np.round(np.linspace(0, epochs, max_frames + 1)))
    per = max(1, min(max_frames // epochs, max_nb))
    return np.arange(epochs * per + 1) / per


def head_steps(run: BatchRun, frames: np.ndarray) -> np.ndarray:
    """The update each frame shows for ``run``: the updates made after ``e`` epochs,
    ⌊e · updates per epoch⌋, held at the last drawable step."""
    k = np.floor(np.asarray(frames) * run.n_batches + 1e-9).astype(np.int64)
    return np.minimum(k, run.end)


# --- the pseudo-code ---------------------------------------------------------------------------------

UPDATES = {
    "gd": ("W := W − α·dW",),
    "momentum": ("v := β·v + (1 − β)·dW", "W := W − α·v"),
    "nesterov": ("v := β·v + (1 − β)·∇L(W − α·β·v)", "W := W − α·v"),
    "rmsprop": ("s := β·s + (1 − β)·dW²", "W := W − α·dW / √(s + ε)"),
    "adam": ("v := β₁·v + (1 − β₁)·dW", "s := β₂·s + (1 − β₂)·dW²", "v̂, ŝ := v/(1 − β₁ᵗ), s/(1 − β₂ᵗ)",
             "W := W − α·v̂ / √(ŝ + ε)"),
    "adamax": ("v := β₁·v + (1 − β₁)·dW", "u := max(β₂·u, |dW| + ε)", "W := W − α/(1 − β₁ᵗ)·v / u"),
    "nadam": ("v := β₁·v + (1 − β₁)·dW", "s := β₂·s + (1 − β₂)·dW²", "v̄ := β₁·v̂ + (1 − β₁)·dW/(1 − β₁ᵗ)",
              "W := W − α·v̄ / √(ŝ + ε)"),
    "adagrad": ("s := s + dW²", "W := W − α·dW / √(s + ε)"),
    "adamw": ("v := β₁·v + (1 − β₁)·dW", "s := β₂·s + (1 − β₂)·dW²", "v̂, ŝ := v/(1 − β₁ᵗ), s/(1 − β₂ᵗ)",
              "W := W − α·(v̂ / √(ŝ + ε) + λ·W)"),
    "amsgrad": ("v := β₁·v + (1 − β₁)·dW", "s := β₂·s + (1 − β₂)·dW²", "v̂, ŝ := v/(1 − β₁ᵗ), max(ŝ, s/(1 − β₂ᵗ))",
                "W := W − α·v̂ / √(ŝ + ε)"),
    "adadelta": ("s := β·s + (1 − β)·dW²", "Δ := −√(d + ε) / √(s + ε)·dW", "d := β·d + (1 − β)·Δ²",
                 "W := W + α·Δ"),
    "radam": ("v := β₁·v + (1 − β₁)·dW", "s := β₂·s + (1 − β₂)·dW²", "v̂, ŝ := v/(1 − β₁ᵗ), s/(1 − β₂ᵗ)",
              "W := W − α·r_t·v̂ / √(ŝ + ε)  (ρ_t ≥ 5; before: W − α·v̂)"),
    "lion": ("c := β₁·m + (1 − β₁)·dW", "m := β₂·m + (1 − β₂)·dW", "W := W − α·(sign(c) + λ·W)"),
    "schedule_free": ("y := (1 − β₁)·z + β₁·W", "s := β₂·s + (1 − β₂)·dW(y)²",
                      "z := z − α·(dW(y) / √(ŝ + ε) + λ·y)", "W := (1 − c)·W + c·z"),
    "muon": ("v := β·v + (1 − β)·dW", "W := W − α·NS(v̄)  (matrices)",
             "W := W − α·v̄ / √(ŝ + ε)  (vectors: Nadam)"),
    "sam": ("ε := ρ·dW / ‖dW‖", "W := W − α·∇L(W + ε)"),
}
PYTORCH = {"momentum": ("v := β·v + dW", "W := W − α·v"), "nesterov": ("v := β·v + dW", "W := W − α·(dW + β·v)")}


def update_lines(optimizer: str, convention: str = "course", label: str = "") -> tuple[str, ...]:
    """The update of a rule in plain text (the pseudo-code's last lines); PyTorch's convention
    moves ε out of the square root, or uses the undamped momentum."""
    if convention == "pytorch" and optimizer in PYTORCH:
        return PYTORCH[optimizer]
    lines = UPDATES.get(optimizer, (f"W := {label or optimizer} update of W with dW",))
    if convention == "pytorch":
        lines = tuple(s.replace("√(s + ε)", "(√s + ε)").replace("√(ŝ + ε)", "(√ŝ + ε)") for s in lines)
    return lines


@dataclass(frozen=True)
class Code:
    """The pseudo-code of one run: its lines, and which are the epoch loop and the inner loop."""

    lines: tuple[str, ...]
    epoch_line: int
    inner_line: int | None


def pseudo_code(batch: int, m: int, epochs: int, update: tuple[str, ...]) -> Code:
    """The course's pseudo-code of batch GD (all m examples per update), SGD (one example,
    shuffled each epoch) or mini-batch GD (shuffle, partition, one update per mini-batch)."""
    kind = variant(batch, m)
    nb = n_batches(m, batch)
    title = {"batch": f"# batch GD: all {m} examples, 1 update/epoch",
             "sgd": f"# SGD: 1 example, {m} updates/epoch",
             "minibatch": f"# mini-batch GD: b = {batch}, {nb} updates/epoch"}[kind]
    head = [title, f"for epoch in range({epochs}):"]
    if kind == "batch":
        body = ["    dW = ∇L(W; X, y)"] + ["    " + u for u in update]
        return Code(tuple(head + body), 1, None)
    if kind == "sgd":
        loop = ["    shuffle(X, y)", f"    for i in range({m}):", "        dW = ∇L(W; x[i], y[i])"]
    else:
        last = m - (nb - 1) * batch
        loop = ["    shuffle(X, y)", f"    for t in range({nb}):", f"        X_t, y_t = next {batch}"
                + (f" (last {last})" if last != batch else ""), "        dW = ∇L(W; X_t, y_t)"]
    return Code(tuple(head + loop + ["        " + u for u in update]), 1, 3)


def code_text(code: Code, run: BatchRun, k: int) -> list[str]:
    """The pseudo-code after ``k`` updates of ``run``: the epoch and the mini-batch (or example)
    of the last update made written beside their loops, and the current W on a last line."""
    lines = list(code.lines)
    marked = [i for i in (code.epoch_line, code.inner_line) if i is not None]
    width = max(len(lines[i]) for i in marked) + 2
    nb = run.n_batches
    e, t = (k - 1) // nb + 1, (k - 1) % nb
    notes = {code.epoch_line: "◀ not started" if k == 0 else f"◀ epoch {e} of {len(run.lr) // nb}"}
    if code.inner_line is not None and k > 0:
        notes[code.inner_line] = f"◀ {'i' if run.batch == 1 else 't'} = {t}"
        if run.batch == 1 and run.rows is not None:
            notes[code.inner_line] += f": example #{int(run.rows[k - 1, 0])}"
    for i, note in notes.items():
        lines[i] = lines[i].ljust(width) + note
    w = _clean(run.path[min(k, run.end)])
    return lines + ["", f"update {k:,} of {run.steps:,}: W = ({w[0]:.3f}, {w[1]:.3f})"]


# --- the data panel ---------------------------------------------------------------------------------


def data_box(kind: str, X: np.ndarray, y: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ranges of the data panel: x and y of the line's points, or x₁ and x₂ of the blobs."""
    pts = np.stack([X, y], 1) if kind == "linear" else np.asarray(X)
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    pad = 0.08 * (hi - lo) + 1e-3
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def fit_line(kind: str, w, box) -> tuple[list[float], list[float]]:
    """The model with parameters ``w`` drawn in the data panel: the line ŷ = w x + b across the
    box, or the decision boundary w₁ x₁ + w₂ x₂ = 0 (a line through 0, orthogonal to w)."""
    (x0, x1), (y0, y1) = box
    w = _clean(w).astype(np.float64)
    if kind == "linear":
        return [x0, x1], [float(w[0] * x0 + w[1]), float(w[0] * x1 + w[1])]
    norm = float(np.hypot(*w))
    if norm < 1e-12:
        return [0.0, 0.0], [0.0, 0.0]
    r = 2.0 * float(np.hypot(x1 - x0, y1 - y0)) + float(np.hypot(x0 + x1, y0 + y1))
    d = np.array([-w[1], w[0]]) / norm
    return [float(-r * d[0]), float(r * d[0])], [float(-r * d[1]), float(r * d[1])]


def _data_traces(kind, X, y, style: Style) -> list[dict]:
    size = (6 if len(y) <= 500 else 4) * style.scale
    if kind == "linear":
        return [dict(x=np.asarray(X, np.float32), y=np.asarray(y, np.float32), mode="markers", name="data",
                     showlegend=False, marker=dict(size=size, color="#8c8c8c", opacity=0.55 if len(y) > 500 else 0.8))]
    out = []
    for label, color, symbol in ((1.0, style.ink, "circle"), (-1.0, "#9a9a9a", "diamond")):
        pts = np.asarray(X, np.float32)[np.asarray(y) == label]
        out.append(dict(x=pts[:, 0], y=pts[:, 1], mode="markers", name=f"y = {label:+.0f}", showlegend=False,
                        marker=dict(size=size, color=color, symbol=symbol, opacity=0.6)))
    return out


def _batch_points(kind, X, y, run: BatchRun | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The examples of the mini-batch that made update k (k ≥ 1) of the focus run."""
    if run is None or run.rows is None or k < 1:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    idx = run.rows[k - 1]
    idx = idx[idx >= 0]
    if kind == "linear":
        return np.asarray(X, np.float32)[idx], np.asarray(y, np.float32)[idx]
    pts = np.asarray(X, np.float32)[idx]
    return pts[:, 0], pts[:, 1]


# --- the animated figure -------------------------------------------------------------------------------


def _scatter(xaxis: str = "x", yaxis: str = "y", **kw) -> dict:
    return {"hoverinfo": "skip", **kw, "type": "scatter", "xaxis": xaxis, "yaxis": yaxis}


def data_race_figure(model, surface_uri: str, runs: list[BatchRun], focus: BatchRun | None, code: Code | None,
                     style: Style, max_frames: int = 120, trail: int = 20, frame_ms: int = 60) -> go.Figure:
    """Left, the full-batch loss surface (a static image) with each run's whole path (faint) and
    a comet of its last ``trail`` updates; right, the data with each run's current fit and the
    examples of the focus run's current mini-batch, and under it that run's pseudo-code.  The
    frames step through the epochs (a common clock for runs of 1 to m updates per epoch) and
    carry only what moves."""
    kind, X, y = model.kind, model.X, model.y
    box = data_box(kind, X, y)
    epochs = max((len(r.lr) // r.n_batches for r in runs), default=0)
    frames_e = epoch_frames(max(epochs, 1), max((r.n_batches for r in runs), default=1), max_frames)
    heads = [head_steps(r, frames_e) for r in runs]
    f_heads = heads[runs.index(focus)] if focus in runs else np.zeros(len(frames_e), np.int64)
    # make_subplots only lays out the three panels; traces go in as dicts on a figure that is
    # not validated (built from known-good parts: validation costs ~0.5 s a rerun)
    grid = make_subplots(rows=2, cols=2, column_widths=[0.55, 0.45],
                         row_heights=[0.4, 0.6] if style.presentation else [0.52, 0.48],
                         specs=[[{"rowspan": 2}, {}], [None, {}]], horizontal_spacing=0.13,
                         vertical_spacing=0.18 if style.presentation else 0.13,
                         # short titles: at a phone's width each panel is ~150 px wide
                         subplot_titles=("loss and the paths", "data and the fits" if kind == "linear"
                                         else "data and the boundaries"))
    fig = go.Figure(layout=grid.layout.to_plotly_json(), _validate=False)
    # add_surface_image sets every axis of a figure: let it set a lone one, then take its picture
    pic = add_surface_image(go.Figure(_validate=False), surface_uri, model.surface.domain).layout
    fig.add_layout_image(pic.images[0])
    fig.update_layout(xaxis=pic.xaxis.to_plotly_json(), yaxis=pic.yaxis.to_plotly_json())
    # the colour bar of the loss lies under its picture: beside it, its labels would run into the
    # data panel's on a phone; on a projector (wide, short) it stands beside the picture, in the gap
    # between the panels, so that the figure and its controls fit under the page's title
    left = fig.layout.xaxis.domain
    beside = style.presentation
    bar = colorbar_trace(surface_uri, style, name="L", title_side="top", x=left[1] + 0.005, xanchor="left",
                         len=0.6) if beside else \
        colorbar_trace(surface_uri, style, name="L", title_side="right", orientation="h", x=sum(left) / 2,
                       xanchor="center", yanchor="top", ypad=0, len=0.7 * (left[1] - left[0]))
    if bar is not None:
        bar_index = len(fig.data)
        fig.add_trace(bar)
    fig.add_trace(minima_trace([model.optimum], style))
    start = model.surface.start
    fig.add_trace(_scatter(x=[float(start[0])], y=[float(start[1])], mode="markers", name="start",
                           marker=dict(symbol="circle-open", size=style.marker_size * 1.2, color="white",
                                       line=dict(width=2))))
    for r in runs:
        stride = max(1, math.ceil((r.end + 1) / MAX_PATH_POINTS))
        full = _clean(r.path[np.unique(np.append(np.arange(0, r.end + 1, stride), r.end))])
        fig.add_trace(_scatter(x=full[:, 0], y=full[:, 1], mode="lines", opacity=0.45, legendgroup=r.key,
                               name=r.label + (f" — {r.note}" if r.note else ""),
                               line=dict(color=r.color, width=style.line_width * 0.75)))
    n = trail + 1
    sizes = np.tile(np.linspace(0.25, 0.55, n), len(runs)) * style.marker_size
    sizes[n - 1:: n] = style.marker_size * 1.25
    outline = np.zeros(n * len(runs), np.float32)
    outline[n - 1:: n] = 1.5 * style.scale

    def moving_data(i: int) -> list[dict]:
        """What frame i changes: the comets, each run's fit, the mini-batch, the code."""
        comets = [_comet([r], int(h[i]), trail) for r, h in zip(runs, heads, strict=True)]
        cx = np.concatenate([c[0] for c in comets]) if comets else np.zeros(0, np.float32)
        cy = np.concatenate([c[1] for c in comets]) if comets else np.zeros(0, np.float32)
        out = [dict(type="scatter", x=cx, y=cy)]
        for r, h in zip(runs, heads, strict=True):
            fx, fy = fit_line(kind, r.path[h[i]], box)
            out.append(dict(type="scatter", x=fx, y=fy))
        bx, by = _batch_points(kind, X, y, focus, int(f_heads[i]))
        out.append(dict(type="scatter", x=bx, y=by))
        if code is not None and focus is not None:
            out.append(dict(type="scatter", text=code_text(code, focus, int(f_heads[i]))))
        return out

    first = moving_data(0)
    moving = list(range(len(fig.data), len(fig.data) + len(first)))
    fig.add_trace(_scatter(**first[0], mode="markers", showlegend=False, name="heads",
                           marker=dict(size=sizes.astype(np.float32), color=[r.color for r in runs for _ in range(n)],
                                       line=dict(color="white", width=outline))))
    for r, d in zip(runs, first[1:], strict=False):
        fig.add_trace(_scatter("x2", "y2", **d, mode="lines", showlegend=False, name=f"fit {r.key}",
                               legendgroup=r.key, line=dict(color=r.color, width=style.line_width)))
    fig.add_trace(_scatter("x2", "y2", **first[len(runs) + 1], mode="markers", name="current mini-batch",
                           showlegend=bool(focus and focus.rows is not None),
                           marker=dict(size=style.marker_size, symbol="circle-open",
                                       color=focus.color if focus else style.ink, line=dict(width=2.5))))
    if code is not None and focus is not None:
        n_lines = len(first[-1]["text"])
        fig.add_trace(_scatter("x3", "y3", text=first[-1]["text"], x=np.zeros(n_lines, np.float32),
                               y=-np.arange(n_lines, dtype=np.float32), mode="text", showlegend=False, name="code",
                               textposition="middle right",
                               textfont=dict(family="DejaVu Sans Mono, Consolas, Menlo, monospace",
                                             size=round(style.font_size * (0.75 if style.presentation else 0.9)),
                                             color=style.ink)))
        for line in (code.epoch_line, code.inner_line):
            if line is not None:
                fig.add_shape(type="rect", x0=0, x1=1, y0=-line - 0.5, y1=-line + 0.5, xref="x3 domain", yref="y3",
                              fillcolor=focus.color, opacity=0.18, line_width=0, layer="below")
        fig.update_layout(xaxis3=dict(range=[0, 1], visible=False, fixedrange=True),
                          yaxis3=dict(range=[-n_lines + 0.5, 0.6], visible=False, fixedrange=True))
    for t in _data_traces(kind, X, y, style):
        fig.add_trace(_scatter("x2", "y2", **t))
    lx, ly = fit_line(kind, model.optimum, box)
    fig.add_trace(_scatter("x2", "y2", x=lx, y=ly, mode="lines", name="best fit (★)",
                           line=dict(color=style.ink, width=style.line_width * 0.75, dash="dash")))

    frames = [go.Frame(dict(name=f"{e:.4f}", traces=moving, data=first if i == 0 else moving_data(i)),
                       _validate=False) for i, e in enumerate(frames_e)]
    fig.frames = frames
    below = 2 + (BAR_LINES if bar is not None and not beside else 0)  # tick labels, axis title, colour bar
    fig.update_layout(**play_controls([f.name for f in frames], [f"{e:.2f}" for e in frames_e], style, "epoch ",
                                      frame_ms, lines_below=below))
    names = [n.replace("_1", "₁").replace("_2", "₂") for n in model.param_names]
    fig.update_layout(xaxis_title_text=names[0], yaxis_title_text=names[1],
                      xaxis2=dict(range=list(box[0]), title_text="x" if kind == "linear" else "x₁", showgrid=True),
                      yaxis2=dict(range=list(box[1]), title_text="y" if kind == "linear" else "x₂", showgrid=True))
    bottom = controls_margin(style, lines_below=below)
    base_layout(fig, style, height=600 + bottom)  # the panels keep their size whatever the controls take
    fig.update_layout(margin=dict(t=70, b=bottom), legend=dict(y=1.06))
    if beside:  # the page's main figure on a projector: under a two-line title, within 720 pixels
        fig.update_layout(height=PRESENTATION_DATA_HEIGHT, margin=dict(t=50), legend=dict(y=1.12))
    elif bar is not None:  # under the axis title, in the plot's height fraction: that height is known now
        fig.data[bar_index].marker.colorbar.y = -controls_offset(style, 2) / (fig.layout.height - 70 - bottom)
    return fig


# --- the loss curves and the table -----------------------------------------------------------------------


def _gap(run: BatchRun, l_star: float) -> np.ndarray:
    v = np.asarray(run.loss, np.float64)
    finite = np.isfinite(v)
    v = np.where(finite, v, np.max(v[finite]) if finite.any() else 1.0)
    return np.maximum(v - l_star, 1e-12)


def time_label(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def loss_curves_figure(runs: list[BatchRun], l_star: float, style: Style, log: bool = True) -> go.Figure:
    """The full-data loss gap L − L* against updates (left: an SGD epoch is m updates) and
    against epochs (right: a batch-GD epoch is one update), each run labelled with its
    number of updates and its measured wall-clock time."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("L − L* per update", "L − L* per epoch"))
    for r in runs:
        keep = r.loss_steps <= r.end
        s, gap = r.loss_steps[keep], _gap(r, l_star)[keep]
        first = 1 if len(s) > 1 else 0  # update 0 has no place on a log axis
        name = f"{r.label}: {r.steps:,} updates, {time_label(r.seconds)}"
        line = dict(color=r.color, width=style.line_width * 0.8)
        mode = "lines+markers" if r.batch >= r.m and len(s) <= 60 else "lines"
        fig.add_trace(go.Scatter(x=s[first:].astype(np.float32), y=gap[first:].astype(np.float32), mode=mode, name=name,
                                 legendgroup=r.key, line=line, marker=dict(size=5 * style.scale, color=r.color)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=(s / r.n_batches).astype(np.float32), y=gap.astype(np.float32), mode=mode,
                                 showlegend=False, legendgroup=r.key, line=line,
                                 marker=dict(size=5 * style.scale, color=r.color)), row=1, col=2)
    fig.update_xaxes(LOG_AXIS, title_text="updates made (log scale)", row=1, col=1)
    fig.update_xaxes(title_text="epochs (passes through the data)", row=1, col=2)
    if log:
        fig.update_yaxes(LOG_AXIS)
    base_layout(fig, style, height=460)
    return fig.update_layout(legend=dict(y=-0.2, yanchor="top"), margin=dict(b=40, t=40))


def first_below(run: BatchRun, l_star: float, target: float) -> int | None:
    """The first evaluated update whose loss gap is at most ``target`` (None if none)."""
    gap = _gap(run, l_star)
    hit = np.nonzero((gap <= target) & (run.loss_steps <= run.end))[0]
    return int(run.loss_steps[hit[0]]) if len(hit) else None


def _sig(x, digits: int = 3) -> float:
    """A number rounded to ``digits`` significant digits for a table; NaN (a missing value) for
    None or a non-finite value."""
    return np.nan if x is None or not np.isfinite(x) else float(f"{x:.{digits}g}")


def summary_table(runs: list[BatchRun], l_star: float, tol: float) -> pd.DataFrame:
    """Per run: updates, measured time, speed, final gap, and when it got within ``tol`` of the
    start's gap (in epochs and milliseconds)."""
    rows = []
    for r in runs:
        gap = _gap(r, l_star)
        k = first_below(r, l_star, tol * gap[0])
        per_update = r.seconds / max(r.steps, 1)
        rows.append({
            "run": r.label, "examples per update": r.batch, "updates per epoch": r.n_batches, "updates": r.steps,
            "time (ms)": _sig(r.seconds * 1e3), "updates per second": _sig(r.steps / r.seconds if r.seconds else None),
            "final L − L*": _sig(float(gap[-1]) if r.end == r.steps else None),
            "epochs to target": _sig(None if k is None else k / r.n_batches),
            "ms to target": _sig(None if k is None else k * per_update * 1e3),
            "outcome": r.note or ("reached the target" if k is not None else "not within the target"),
        })
    return pd.DataFrame(rows)


def runs_table(runs: list[BatchRun]) -> pd.DataFrame:
    """Every update of every run (the race page's trajectory table) with its epoch and the
    full-data loss where it was evaluated."""
    losses = []
    for r in runs:
        full = np.full(r.steps + 1, np.nan)
        full[r.loss_steps] = r.loss
        losses.append(full)
    df = trajectories_table([r.label for r in runs], [r.path for r in runs], losses, [r.lr for r in runs])
    nb = np.concatenate([np.full(r.steps + 1, r.n_batches) for r in runs]) if runs else np.zeros(0)
    df.insert(2, "epoch", df["step"].to_numpy() / nb if runs else [])
    return df.rename(columns={"optimizer": "run"})
