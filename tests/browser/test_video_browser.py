"""The race for slides, end to end in Chromium: the page's "Share and export" renders a GIF of
the animated figure (on the server, through viz.video) with the number of frames asked, its
first and last frames differ, and its last frame looks like the figure on screen at its last
step: the same optimizer colours, side by side in a screenshot (artifacts/screenshots)."""

import io

import numpy as np
import pytest
from PIL import Image

from browser.conftest import SHOTS, rerun_and_wait
from viz.style import OPTIMIZER_COLORS

pytestmark = pytest.mark.browser

OPTS = ["gd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]
FRAMES = 12

# The on-screen figure to its last frame, as the GIF's last frame shows it.
LAST_FRAME_JS = """async () => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find(g => g._fullLayout && g._fullLayout.sliders
      && g._fullLayout.sliders.length);
  const frames = gd._transitionData._frames;
  await Plotly.animate(gd, [frames[frames.length - 1].name], {frame: {duration: 0, redraw: false},
                                                              transition: {duration: 0}, mode: 'immediate'});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return frames.length;
}"""


def _pixels_of(image: Image.Image, hex_color: str) -> int:
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return int(np.all(np.asarray(image.convert("RGB")) == rgb, axis=-1).sum())


def test_the_race_exports_a_gif_that_looks_like_the_figure(open_page):
    opened = open_page(f"/race?opts={','.join(OPTS)}&steps=300")
    page = opened.page
    page.get_by_text("Share and export").click()
    page.get_by_text("For slides").wait_for()
    rerun_and_wait(page, lambda: page.get_by_text("Video (MP4)").click(), min_plots=1)
    rerun_and_wait(page, lambda: page.get_by_text("Animated GIF").click(), min_plots=1)
    frames = page.get_by_label("frames", exact=True)
    rerun_and_wait(page, lambda: (frames.fill(str(FRAMES)), frames.press("Enter")), min_plots=1)
    rerun_and_wait(page, lambda: page.get_by_role("button", name="Render").click(), min_plots=1, timeout_ms=300_000)
    button = page.get_by_role("button", name="Download GIF")
    with page.expect_download() as download:
        button.click()
    gif = Image.open(io.BytesIO(open(download.value.path(), "rb").read()))
    assert download.value.suggested_filename.endswith(".gif")

    assert gif.n_frames == FRAMES
    gif.seek(0)
    first = np.asarray(gif.convert("RGB"), np.int16)
    gif.seek(FRAMES - 1)
    last_image = gif.convert("RGB")
    changed = np.any(np.asarray(last_image, np.int16) != first, axis=-1).mean()
    assert changed > 0.001, "the GIF's first and last frames are the same picture"

    assert page.evaluate(LAST_FRAME_JS) > FRAMES
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    on_screen = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    beside = Image.new("RGB", (on_screen.width + last_image.width + 20, max(on_screen.height, last_image.height)),
                       "white")
    beside.paste(on_screen, (0, 0))
    beside.paste(last_image, (on_screen.width + 20, 0))
    SHOTS.mkdir(parents=True, exist_ok=True)
    beside.save(SHOTS / "race-gif-beside-figure.png")
    # The heads in their exact colours: the same ones show in both pictures (at the last step some
    # sit under others), and several do.
    shown = {n for n in OPTS if _pixels_of(on_screen, OPTIMIZER_COLORS[n]) > 20}
    exported = {n for n in OPTS if _pixels_of(last_image, OPTIMIZER_COLORS[n]) > 20}
    assert shown == exported and len(shown) >= 3, (shown, exported)
    assert opened.real_errors() == []
