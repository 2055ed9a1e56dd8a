"""The loss landscape's grid: a 41 × 41 grid of the network page's default network and data
(2 × 16 tanh, two moons, 225 training and 75 test examples) around a trained Adam run, as the
page computes it (vmap over chunks of grid points, one jitted call) against 41·41 separate
jitted loss evaluations (θ built inside the jitted call, or in Python), and against PyTorch's
``torch.func.vmap`` of the same grid when torch is installed.  Ratios of times measured in this run; no assertion.

    python bench/bench_landscape.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

from lessons.network import BASE  # noqa: E402
from surfaces import landscape as L  # noqa: E402
from surfaces import network as N  # noqa: E402
from surfaces.training import default_init, fit, make_data  # noqa: E402

G = 41


def best(fn, repeat=5) -> float:
    """The best of ``repeat`` wall times of ``fn()`` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def torch_grid(params, d1, d2, ab, X, y, act):
    """The same grid in PyTorch: torch.func.vmap over the grid points of a functional forward
    (the cross entropy of the logit), in chunks as the page does.  None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    T = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    c = [{k: T(v) for k, v in layer.items()} for layer in params]
    u = [{k: T(v) for k, v in layer.items()} for layer in d1]
    w = [{k: T(v) for k, v in layer.items()} for layer in d2]
    Xt, yt, abt = T(X), T(y), T(ab)
    g = {"tanh": torch.tanh, "relu": torch.relu}[act]

    def loss(p):
        a, b = p[0], p[1]
        h = Xt
        for i, (lc, lu, lw) in enumerate(zip(c, u, w)):
            W = lc["W"] + a * lu["W"] + b * lw["W"]
            bias = lc["b"] + a * lu["b"] + b * lw["b"]
            h = h @ W + bias
            if i < len(c) - 1:
                h = g(h)
        z = h[:, 0]
        return torch.mean(torch.nn.functional.softplus(z) - yt * z)

    batched = torch.func.vmap(loss)

    def run():
        with torch.no_grad():
            return torch.cat([batched(chunk) for chunk in torch.split(abt, 481)])

    return run


def main():
    v = BASE
    data = make_data(v["data"], v["m"], N.DATASETS[v["data"]].noise, v["seed"], v["classes"], v["test"])
    sizes = N.mlp_sizes(v["depth"], v["width"], 2, 1)
    params = N.init_mlp(v["seed"], sizes, default_init(v["act"]))
    run = fit(params, data, "adam", v["epochs"], int(v["batch"]), None, v["seed"], v["act"], v["loss"])
    centre = run.params
    P = L.random_plane(centre, 0)
    unravel = ravel_pytree(centre)[1]
    d1, d2 = unravel(jnp.asarray(P.d1, jnp.float32)), unravel(jnp.asarray(P.d2, jnp.float32))
    a, b = np.meshgrid(np.linspace(-1, 1, G), np.linspace(-1, 1, G))
    ab = np.stack([a.ravel(), b.ravel()], 1).astype(np.float32)
    X, y = data.X_train, data.y_train
    args = (data.X_train, data.y_train, data.X_test, data.y_test, v["act"], v["loss"])

    t_grid = best(lambda: L.plane_losses(centre, d1, d2, ab, *args))
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    @jax.jit
    def one(p, q):  # θ_c + p d₁ + q d₂ built inside the compiled call: the loop's fairest form
        return L.data_loss(jax.tree.map(lambda c, u, w: c + p * u + q * w, centre, d1, d2), Xj, yj, v["act"],
                           v["loss"])

    def loop():
        return [float(one(float(p), float(q))) for p, q in ab]

    def naive():  # θ built in Python, one jitted loss a point: how the grid is usually written
        return [float(L.loss_at(jax.tree.map(lambda c, u, w: c + p * u + q * w, centre, d1, d2), Xj, yj, v["act"],
                                v["loss"])) for p, q in ab]

    t_loop, t_naive = best(loop, repeat=1), best(naive, repeat=1)
    grid, _ = L.plane_losses(centre, d1, d2, ab, *args)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{G}x{G} grid, network {'-'.join(map(str, sizes))}, {len(y)} train + {len(data.y_test)} test examples")
    print(f"  vmapped grid (train and test): {t_grid * 1e3:8.1f} ms")
    print(f"  {G * G} separate jitted calls:     {t_loop * 1e3:8.1f} ms   ratio {t_loop / t_grid:6.1f}x (goal >= 20x)")
    print(f"  {G * G} evaluations, θ in Python: {t_naive * 1e3:8.1f} ms   ratio {t_naive / t_grid:6.1f}x")
    for chunk in (G * G, 128):
        t = best(lambda chunk=chunk: L.plane_losses(centre, d1, d2, ab, *args, chunk=chunk))
        print(f"  (the grid in chunks of {chunk}: {t * 1e3:.1f} ms)")
    torch_run = torch_grid(centre, d1, d2, ab, X, y, v["act"])
    if torch_run is None:
        print("  PyTorch: not installed (pip install torch --index-url https://download.pytorch.org/whl/cpu)")
        return
    import torch

    t_torch = best(torch_run)
    tg = torch_run().numpy()
    t_train = best(lambda: L.plane_losses(centre, d1, d2, ab, X, y, X[:1], y[:1], v["act"], v["loss"]))
    print(f"  PyTorch {torch.__version__} torch.func.vmap (train only): {t_torch * 1e3:8.1f} ms;"
          f" JAX train only {t_train * 1e3:8.1f} ms; JAX / torch {t_train / t_torch:5.2f}x (goal <= 1x);"
          f" largest difference {np.max(np.abs(tg - grid)):.2e}")


if __name__ == "__main__":
    main()
