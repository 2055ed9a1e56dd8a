"""viz.video without a browser: which frames are exported and for how long, the GIF's palette
(the figure's exact colours, one palette for all frames), the MP4's frames."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from viz.race import RunView, race_figure
from viz.style import OPTIMIZER_COLORS, Style
from viz.video import HOLD_MS, RenderError, durations, figure_colors, frame_ms, gif_bytes, mp4_bytes, render, sample


def _race(steps: int = 300) -> go.Figure:
    t = np.linspace(0, 1, steps + 1)
    runs = [RunView(n, n, np.stack([np.cos(t * k), np.sin(t * k)], 1).astype(np.float32),
                    np.exp(-t * k).astype(np.float32), steps, "", i)
            for i, (n, k) in enumerate([("gd", 1), ("adam", 2), ("rmsprop", 3)])]
    uri = "data:image/png;base64," + __import__("base64").b64encode(_png(Image.new("RGB", (4, 4)))).decode()
    return race_figure(uri, ((-1, 1), (-1, 1)), [(0.0, 0.0)], (1.0, 0.0), runs, Style(), frame_ms=50)


def _png(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("n, k", [(120, 60), (120, 2), (7, 7), (7, 100), (300, 61)])
def test_sample_is_evenly_spaced_with_both_ends(n, k):
    names = [str(i) for i in range(n)]
    got = sample(names, k)
    assert len(got) == min(n, k) and got[0] == "0" and got[-1] == str(n - 1)
    gaps = np.diff([int(g) for g in got])
    assert gaps.min() >= 1 and gaps.max() - gaps.min() <= 1


def test_the_video_lasts_as_long_as_the_animation_on_screen():
    fig = _race()
    assert frame_ms(fig) == 50 and len(fig.frames) == 120
    ms = durations(fig, 60)
    assert len(ms) == 60 and ms[0] == 100  # 120 frames × 50 ms in 60 frames
    assert sum(ms) == 120 * 50 + HOLD_MS


def test_the_palette_holds_every_optimizer_colour_and_its_faint_path():
    colors = figure_colors(_race())
    for name in ("gd", "adam", "rmsprop"):
        rgb = tuple(int(OPTIMIZER_COLORS[name][i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in colors
        faint = tuple(int(round(0.45 * c + 0.55 * 255)) for c in rgb)  # the path at opacity 0.45 on white
        assert faint in colors


def _frames(n: int, size=(64, 48)) -> list[Image.Image]:
    """A dot in an exact colour moving across a gradient with many more colours than a GIF has."""
    w, h = size
    grad = np.dstack([*np.meshgrid(np.linspace(0, 255, w), np.linspace(0, 255, h)), np.full((h, w), 90.0)])
    out = []
    for i in range(n):
        a = grad.astype(np.uint8).copy()
        x = 4 + i * (w - 8) // max(n - 1, 1)
        a[20:26, x:x + 4] = (0xD5, 0x5E, 0x00)
        out.append(Image.fromarray(a))
    return out


def test_gif_has_every_frame_one_palette_and_the_exact_colour():
    images = _frames(9)
    data = gif_bytes(images, [40] * 8 + [1540], colors=[(0xD5, 0x5E, 0x00)])
    gif = Image.open(io.BytesIO(data))
    assert gif.n_frames == 9 and gif.info["loop"] == 0
    seen = []
    for i in range(9):
        gif.seek(i)
        seen.append(np.asarray(gif.convert("RGB")))
        assert gif.info["duration"] == (1540 if i == 8 else 40)
    for a in (seen[0], seen[-1]):
        assert np.all(a[22, :, :] == (0xD5, 0x5E, 0x00), axis=-1).sum() == 4
    assert np.any(seen[0] != seen[-1])


def test_mp4_is_h264_with_every_frame_and_the_last_one_held(tmp_path):
    import imageio_ffmpeg

    images = _frames(10, (64, 48))
    data = mp4_bytes(images, [100] * 9 + [100 + 500])
    assert data[4:8] == b"ftyp"
    path = tmp_path / "out.mp4"
    path.write_bytes(data)
    log = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True).stderr.decode()
    assert "h264" in log and "yuv420p" in log and "64x48" in log
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 15 and seconds == pytest.approx(1.5, abs=0.05)  # 10 frames, the last held 5 more


def test_without_chromium_the_render_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("DESCENT_LAB_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RenderError, match="apt-get install -y chromium"):
        render(_race(), "png")
