"""The loss landscape's figures: paths animated together by epoch on a static picture, the 3-D
view, the honest gap, and the tables behind the downloads."""

import numpy as np
from helpers import ONE_MB, fig_json

from viz import landscape as V
from viz.style import Style
from viz.surface import Grid, surface_image

XS = np.linspace(-2, 2, 15)
YS = np.linspace(-1, 1, 11)
Z = (XS[None, :] ** 2 + 3 * YS[:, None] ** 2) + 0.01


def fake_paths() -> list[V.PathView]:
    """Two runs of one epoch count: one kept 11 times, one 101 times (another batch size)."""
    out = []
    for i, (name, n) in enumerate((("adam", 11), ("adam@m", 101))):
        t = np.linspace(0, 1, n)
        coords = np.stack([-2 * (1 - t) * (1 + 0.2 * i), -(1 - t) * np.cos(3 * t)], 1)
        real = coords[:, 0] ** 2 + 3 * coords[:, 1] ** 2 + 0.05
        out.append(V.PathView(name, f"run {i}", coords, real, real - 0.04, 0.1 * (1 - t), 20 * t, i))
    return out


def uri():
    return surface_image(Grid(XS.astype(np.float32), YS.astype(np.float32), Z, ((-2, 2), (-1, 1))), False, pixels=200)


def test_frames_move_every_path_together_by_epoch():
    paths = fake_paths()
    np.testing.assert_array_equal(V.frame_points(paths[0].epochs, np.array([0, 1.9, 2.0, 10, 20])), [0, 0, 1, 5, 10])
    fig = V.landscape_figure(uri(), XS, YS, paths, "Adam's final weights", 20, Style(), n_frames=21)
    assert len(fig.frames) == 21 and fig.layout.images
    assert fig.layout.sliders[0].currentvalue.suffix == " of 20"
    assert [s.label for s in fig.layout.sliders[0].steps][:3] == ["0", "1", "2"]
    heads = [i for i, t in enumerate(fig.data) if t.name == "heads"]
    assert heads and all(list(f.traces) == heads for f in fig.frames)
    first, last = fig.frames[0].data[0], fig.frames[-1].data[0]
    n = len(first.x) // 2  # two comets of equal length
    for run in range(2):
        assert first.x[(run + 1) * n - 1] != last.x[(run + 1) * n - 1]  # every head moves
        assert abs(last.x[(run + 1) * n - 1]) < 1e-6  # and ends at the centre
    assert any(t.name.startswith("centre θ_c") for t in fig.data)
    assert len(fig_json(fig)) < ONE_MB


def test_the_3d_view_and_the_gap_figure():
    paths = fake_paths()
    fig = V.landscape_3d(XS, YS, Z, True, paths, Style())
    assert fig.data[0].type == "surface" and len(fig.data) == 1 + len(paths)
    gap = V.gap_figure(paths, Style(), log=True)
    assert len(gap.data) == 3 * len(paths) and gap.layout.yaxis.type == "log"
    assert V.gap_figure(paths, Style(), log=False).layout.yaxis.type != "log"


def test_the_tables():
    paths = fake_paths()
    t = V.paths_table(paths)
    assert len(t) == 11 + 101 and list(t.columns) == ["run", "epoch", "alpha", "beta", "train_loss", "plane_loss",
                                                       "off_plane"]
    g = V.grid_table(XS, YS, Z, Z + 1)
    assert len(g) == 15 * 11 and g.loc[0, "alpha"] == -2 and g.loc[0, "test_loss"] == Z[0, 0] + 1
    recs = {p.name: dict(train_loss=np.array([1.0, 0.1]), test_loss=np.array([1.0, 0.2]),
                         test_acc=np.array([0.5, 0.9]), sharpness=0.01) for p in paths}
    summ = {p.name: dict(travel=1.0, kept=0.9, gap_mean=0.1, gap_max=0.2) for p in paths}
    s = V.summary_table(paths, recs, summ)
    assert list(s["run"]) == ["run 0", "run 1"] and s["test loss"].tolist() == [0.2, 0.2]
