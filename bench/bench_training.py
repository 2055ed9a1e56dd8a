"""Training the network page's MLP: epochs per second of our jitted loops against the same
network and optimizer in PyTorch (CPU), in one run.

    python bench/bench_training.py [--epochs 50] [--repeats 3]

Each case: the same data (moons, the train split), the same initial weights (ours copied into
PyTorch), Adam with the same hyperparameters in PyTorch's convention (ε outside the square root),
mini-batches of 32 reshuffled every epoch, the binary cross entropy on logits, and after every
epoch the loss and accuracy on the train and test sets (what the page plots).  Contenders:

  engine  surfaces.network.train: one jitted lax.scan (it also records per-update gradient and
          weight norms per layer);
  page    viz.network.fit: the same loop with 20 parameter snapshots and the decision-boundary
          grid (48 × 48) evaluated at each, one jitted call;
  torch   a plain PyTorch loop (torch.optim.Adam, BCEWithLogitsLoss), evaluation under no_grad.

PyTorch runs with one intra-op thread (``--torch-threads``), its fastest setting for these
sizes.  Compilation is excluded (a warm-up call first, reported apart); every JAX result is waited for
with block_until_ready; the median of --repeats timed calls, the contenders alternating so that
the load of other processes falls on all of them.  The final test accuracies show that the
three trained the same way (they differ only by the shuffling: JAX's and PyTorch's generators)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from surfaces import network as N  # noqa: E402
from surfaces import training as T

HP = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
CASES = [  # (label, m, depth, width)
    ("page default: 2-16-16-1, 225 examples", 300, 2, 16),
    ("bigger: 2-64-64-64-1, 1,500 examples", 2000, 3, 64),
]


def torch_model(params) -> torch.nn.Sequential:
    layers = []
    for i, p in enumerate(params):
        W, b = np.asarray(p["W"]), np.asarray(p["b"])
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def torch_train(params, data: T.Data, epochs: int, batch: int, seed: int = 0) -> float:
    """The PyTorch loop; returns the final test accuracy."""
    torch.manual_seed(seed)
    model = torch_model(params)
    opt = torch.optim.Adam(model.parameters(), lr=HP["lr"], betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"])
    lossf = torch.nn.BCEWithLogitsLoss()
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train.astype(np.float32))
    Xt, yt = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test.astype(np.float32))
    m = len(y)
    acc = 0.0
    for _ in range(epochs):
        perm = torch.randperm(m)
        for s in range(0, m, batch):
            idx = perm[s: s + batch]
            opt.zero_grad()
            loss = lossf(model(X[idx])[:, 0], y[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():  # the per-epoch curves, as the page records them
            out, outt = model(X)[:, 0], model(Xt)[:, 0]
            _ = lossf(out, y), ((out > 0).float() == y).float().mean(), lossf(outt, yt)
            acc = float(((outt > 0).float() == yt).float().mean())
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="PyTorch's intra-op threads (default 1: on these tiny matrices more threads only add "
                         "synchronization; measured here, 2 threads ran 1.2× to 30× slower under load)")
    args = ap.parse_args()
    torch.set_num_threads(args.torch_threads)
    print(f"jax {jax.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start; Adam, batch 32, tanh, "
          f"{args.epochs} epochs, median of {args.repeats}")
    print(f"{'case':40s} {'contender':8s} {'epochs/s':>10s} {'compile s':>10s} {'test acc':>9s} {'vs torch':>9s}")
    for label, m, depth, width in CASES:
        data = T.make_data("moons", m, 0.15, 0, 2, 0.25)
        params = N.init_mlp(0, N.mlp_sizes(depth, width), "xavier")
        kw = dict(epochs=args.epochs, batch_size=32, hp=HP, key=0, activation="tanh", loss="cross_entropy",
                  convention="pytorch")

        def engine():
            r = N.train(params, data.X_train, data.y_train, "adam", X_test=data.X_test, y_test=data.y_test, **kw)
            return float(jax.block_until_ready(r).test_acc[-1])

        def page():
            return float(jax.block_until_ready(T.fit(params, data, "adam", **kw)).test_acc[-1])

        def pytorch():
            return torch_train(params, data, args.epochs, 32)

        runs = {"engine": engine, "page": page, "torch": pytorch}
        compile_s, times, accs = {}, {k: [] for k in runs}, {}
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            compile_s[name] = time.perf_counter() - t0
        for _ in range(args.repeats):
            for name, fn in runs.items():
                t0 = time.perf_counter()
                accs[name] = fn()
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        for name in runs:
            warm = f"{compile_s[name] - med[name]:.2f}" if name != "torch" else "-"
            print(f"{label:40s} {name:8s} {args.epochs / med[name]:10.0f} {warm:>10s} {accs[name]:9.3f} "
                  f"{med['torch'] / med[name]:8.1f}×")
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
