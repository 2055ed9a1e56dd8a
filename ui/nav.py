"""The app's pages (built into st.navigation by app.py) and the lesson path the home page
shows: each lesson opens its page with a ready-made configuration (a share link)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    url_path: str


PAGES = [
    PageInfo("app_pages/home.py", "Home", ":material/home:", ""),
    PageInfo("app_pages/race.py", "Optimizer race", ":material/sports_score:", "race"),
    PageInfo("app_pages/data.py", "Batch, SGD, mini-batch", ":material/dataset:", "data"),
    PageInfo("app_pages/decay.py", "Learning-rate decay", ":material/trending_down:", "decay"),
    PageInfo("app_pages/gradients.py", "Vanishing & exploding gradients", ":material/stacked_line_chart:",
             "gradients"),
    PageInfo("app_pages/network.py", "Training a small network", ":material/hub:", "network"),
    PageInfo("app_pages/tuning.py", "Hyperparameter tuning", ":material/tune:", "tuning"),
]


def available() -> list[PageInfo]:
    """The pages whose file exists (pages arrive one by one)."""
    return [p for p in PAGES if (ROOT / p.path).exists()]


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    page: str  # PageInfo.path
    query: dict


LESSONS = [
    Lesson("1 · How much data per update", "Batch GD sees all m examples, SGD one, mini-batches 16 to 128: "
           "smooth and slow, fast and noisy, or fast with few oscillations.", "app_pages/data.py",
           {"sizes": "1,32,m"}),
    Lesson("2 · Momentum", "On an ill-conditioned bowl GD, at the largest rate the steep direction allows, "
           "zig-zags across the valley; momentum averages the gradients, damps the zig-zag and can take "
           "a larger rate.", "app_pages/race.py",
           {"surface": "bowl", "opts": "gd,momentum,nesterov", "gd.lr": "0.07", "momentum.lr": "0.5",
            "nesterov.lr": "0.3", "steps": "100"}),
    Lesson("3 · Adaptive learning rates", "On a plateau the gradient is nearly zero: GD crawls, RMSprop and "
           "AdaGrad divide by its running size and cross.", "app_pages/race.py",
           {"surface": "plateau", "opts": "gd,rmsprop,adagrad", "gd.lr": "0.5", "rmsprop.lr": "0.05",
            "adagrad.lr": "0.5", "steps": "300"}),
    Lesson("4 · Adam and its family", "Momentum plus RMSprop plus bias correction, on Rosenbrock's curved "
           "valley, with Adamax and Nadam beside it.", "app_pages/race.py",
           {"surface": "rosenbrock", "opts": "adam,adamax,nadam,momentum", "adam.lr": "0.05",
            "adamax.lr": "0.05", "nadam.lr": "0.05", "momentum.lr": "0.002", "steps": "1000"}),
    Lesson("5 · Learning-rate decay", "A constant rate keeps bouncing around the minimum; a decaying one "
           "settles.", "app_pages/decay.py", {}),
    Lesson("6 · Deep networks: vanishing and exploding gradients", "Depth multiplies: see the gradient of "
           "each layer, and what He/Xavier initialization, batch norm and clipping change.",
           "app_pages/gradients.py", {}),
    Lesson("7 · Training a small network", "Optimizers, losses and L2 side by side on a real classification "
           "task.", "app_pages/network.py", {}),
    Lesson("8 · Tuning hyperparameters", "Sweep the learning rate on a log scale; random search beats grid "
           "search when one parameter matters most.", "app_pages/tuning.py", {}),
]
