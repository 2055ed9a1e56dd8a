"""The app's pages, built into st.navigation by app.py.  The lessons, and the path of them the
home page shows, are in lessons/."""

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
    PageInfo("app_pages/online.py", "Where Adam fails", ":material/report:", "online"),
    PageInfo("app_pages/data.py", "Batch, SGD, mini-batch", ":material/dataset:", "data"),
    PageInfo("app_pages/decay.py", "Learning-rate decay", ":material/trending_down:", "decay"),
    PageInfo("app_pages/gradients.py", "Vanishing & exploding gradients", ":material/stacked_line_chart:",
             "gradients"),
    PageInfo("app_pages/network.py", "Training a small network", ":material/hub:", "network"),
    PageInfo("app_pages/landscape.py", "Loss landscape", ":material/landscape:", "landscape"),
    PageInfo("app_pages/tuning.py", "Hyperparameter tuning", ":material/tune:", "tuning"),
]


def available() -> list[PageInfo]:
    """The pages whose file exists (pages arrive one by one)."""
    return [p for p in PAGES if (ROOT / p.path).exists()]
