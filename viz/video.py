"""An animated figure as a video for slides (GIF, MP4) and any figure as a still PNG, rendered on
the server by Plotly.js itself in the system's headless Chromium: the file looks like the figure
on screen (colours, paths, heads, legend, the frame slider's "step 40 of 300") because it is
that figure, drawn by the same code.  No Streamlit here.

How: the figure, without its Play / Pause buttons (a video has no use for them), is opened in one
Chromium page; each exported frame is ``Plotly.animate`` to that frame with no transition (only
the moving traces change, ~15 ms), then a screenshot of the figure (~60 ms).  Frames are evenly
spaced samples of the figure's own frames, first and last included, and the video lasts as
long as the animation plays on screen.  GIF: one palette for every frame (Pillow), so colours
do not flicker; MP4: H.264 through the ffmpeg that imageio-ffmpeg ships.

    data = render(fig, "gif", frames=60, progress=lambda done, total: ...)
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
from PIL import Image

FORMATS = {"gif": "image/gif", "mp4": "video/mp4", "png": "image/png"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars"]
HOLD_MS = 1500  # the last frame of a GIF stays this long before it loops: the end of the race is the lesson
DEFAULT_MS = 100

READY_JS = "() => { const g = document.getElementById('fig'); return Boolean(g && g._fullLayout); }"
# Go to one frame at once (no transition, no redraw of the static traces: the surface image stays);
# the promise resolves once Plotly has changed the moving traces in the page, and a screenshot
# draws the page as it is then.  Returns the name the slider shows (the frame's own if no slider).
ANIMATE_JS = """async (name) => {
  const g = document.getElementById('fig');
  await Plotly.animate(g, [name], {frame: {duration: 0, redraw: false}, transition: {duration: 0},
                                   mode: 'immediate'});
  const s = (g._fullLayout.sliders || [])[0];
  return s ? s.steps[s.active].args[0][0] : name;
}"""

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

Progress = Callable[[int, int], None]


class RenderError(RuntimeError):
    """The figure could not be rendered (no Chromium on this server, or Chromium failed)."""


def chromium_path() -> str | None:
    """The Chromium to render with: ``DESCENT_LAB_CHROMIUM``, else ``chromium`` on the PATH."""
    path = os.environ.get("DESCENT_LAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return path if path and os.path.exists(path) else None


def frame_names(fig: go.Figure) -> list[str]:
    return [str(f.name) for f in fig.frames]


def sample(names: Sequence[str], n: int) -> list[str]:
    """``n`` evenly spaced names (the first and the last included), or all of them if fewer."""
    if n >= len(names):
        return list(names)
    idx = np.unique(np.round(np.linspace(0, len(names) - 1, max(n, 2))).astype(int))
    return [names[i] for i in idx]


def frame_ms(fig: go.Figure) -> int:
    """Milliseconds per frame of the figure's Play button (its first animate button)."""
    for menu in fig.layout.updatemenus or ():
        for b in menu.buttons or ():
            if b.method == "animate" and len(b.args or ()) > 1 and b.args[0] is None:
                return int(b.args[1].get("frame", {}).get("duration", DEFAULT_MS))
    return DEFAULT_MS


def durations(fig: go.Figure, n: int) -> list[int]:
    """Milliseconds each of ``n`` exported frames stays: together as long as the animation plays
    on screen (its frames × its frame time), the last one held ``HOLD_MS`` more."""
    total = max(len(fig.frames), 1) * frame_ms(fig)
    each = max(20, round(total / max(n, 1) / 10) * 10)  # GIF counts in hundredths of a second
    return [each] * (n - 1) + [each + HOLD_MS] if n else []


def page_html(fig: go.Figure, width: int) -> str:
    """The figure alone on a page, ``width`` pixels wide, without its buttons.  Plotly.js is read
    from Plotly's own package (a file URL: no network), or put inline if it is not there; passing
    its 4.6 MB inline to Chromium costs 1–4 s more."""
    still = go.Figure(fig, _validate=False) if isinstance(fig, go.Figure) else go.Figure(fig)
    still.layout.updatemenus = []
    for slider in still.layout.sliders:  # the thumb jumps (its 150 ms glide would lag a frame behind)
        slider.transition = dict(duration=0)
    still.update_layout(width=width, autosize=False)
    js = PLOTLY_JS.as_uri() if PLOTLY_JS.exists() else True
    return still.to_html(include_plotlyjs=js, full_html=True, auto_play=False, div_id="fig",
                         config={"staticPlot": True}).replace(
        "<head>", "<head><style>html, body {margin: 0; padding: 0; background: white}</style>", 1)


def capture(fig: go.Figure, names: Sequence[str] | None, width: int = 1000, scale: float = 1.0,
            progress: Progress | None = None) -> list[Image.Image]:
    """Screenshots (RGB) of the figure at each frame in ``names`` (as it opens if None)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise RenderError("no Chromium on this server to render with (Debian: apt-get install -y chromium)")
    shots: list[Image.Image] = []
    total = len(names) if names else 1
    try:
        with tempfile.TemporaryDirectory(prefix="descent-lab-render-") as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": width, "height": 800}, device_scale_factor=scale)
                html = Path(tmp) / "figure.html"
                html.write_text(page_html(fig, width), encoding="utf-8")
                page.goto(html.as_uri(), wait_until="load")
                page.wait_for_function(READY_JS, timeout=60_000)
                box = page.locator("#fig").bounding_box()
                clip = {"x": 0, "y": 0, "width": box["width"] // 2 * 2, "height": box["height"] // 2 * 2,
                        "scale": 1}
                cdp = page.context.new_cdp_session(page)
                for i, name in enumerate(names or [None]):
                    if name is not None:
                        shown = page.evaluate(ANIMATE_JS, name)
                        if shown != name:
                            raise RenderError(f"frame {name!r} did not show (the slider is at {shown!r})")
                    shot = cdp.send("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                               "optimizeForSpeed": True})
                    shots.append(Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB"))
                    if progress is not None:
                        progress(i + 1, total)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise RenderError(f"Chromium could not render the figure: {str(exc).splitlines()[0]}") from exc
    return shots


def _rgb(c) -> tuple[int, int, int] | None:
    """A Plotly colour string (#rrggbb, #rgb, rgb(…), rgba(…)) as RGB, else None."""
    if not isinstance(c, str):
        return None
    c = c.strip().lower()
    if c.startswith("#") and len(c) in (4, 7):
        h = c[1:] if len(c) == 7 else "".join(ch * 2 for ch in c[1:])
        try:
            return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            return None
    if c.startswith(("rgb(", "rgba(")):
        parts = c[c.index("(") + 1:c.rindex(")")].split(",")[:3]
        try:
            return tuple(int(round(float(v))) for v in parts)
        except ValueError:
            return None
    return None


def _paper(fig: go.Figure) -> tuple[int, int, int]:
    """The figure's background colour (its own, else its template's, else white)."""
    for c in (fig.layout.paper_bgcolor, fig.layout.template.layout.paper_bgcolor if fig.layout.template else None):
        if _rgb(c) is not None:
            return _rgb(c)
    return (255, 255, 255)


def figure_colors(fig: go.Figure, limit: int = 96) -> list[tuple[int, int, int]]:
    """The colours the figure's traces name (lines, markers, their outlines, text), and for a
    see-through trace the colour it shows on the background (its legend entry): the optimizers'
    colours, which a GIF's palette must hold exactly (a head a few pixels wide weighs nothing in
    a palette built from pixel counts)."""
    found: dict[tuple, None] = {}
    paper = np.array(_paper(fig), np.float64)

    def take(v, opacity: float):
        if isinstance(v, str):
            rgb = _rgb(v)
            if rgb is not None:
                found.setdefault(rgb)
                if opacity < 1:
                    found.setdefault(tuple(int(round(x)) for x in opacity * np.array(rgb) + (1 - opacity) * paper))
        elif isinstance(v, (list, tuple)) and v and isinstance(v[0], str):
            for c in dict.fromkeys(v):
                take(c, opacity)

    for t in fig.data:
        opacity = float(t["opacity"]) if "opacity" in t and t["opacity"] is not None else 1.0
        for path in (("line", "color"), ("marker", "color"), ("marker", "line", "color"), ("textfont", "color")):
            v = t
            for key in path:
                v = v[key] if key in v else None
                if v is None:
                    break
            take(v, opacity)
    return list(found)[:limit]


def gif_bytes(images: Sequence[Image.Image], ms: Sequence[int], colors: Sequence[tuple] = ()) -> bytes:
    """An animated GIF that loops, with one palette for every frame, so that colours do not
    flicker: ``colors`` exactly (the figure's own), the rest taken from the first, middle and
    last frames (what moves is in one of them); no dithering (flat colours stay flat)."""
    picks = [images[0], images[len(images) // 2], images[-1]]
    w, h = images[0].size
    sheet = Image.new("RGB", (w, h * len(picks)))
    for i, im in enumerate(picks):
        sheet.paste(im, (0, h * i))
    colors = list(colors)[:128]
    base = sheet.quantize(256 - len(colors), method=Image.Quantize.MEDIANCUT)
    entries = base.getpalette()[: 3 * (256 - len(colors))]
    entries += [v for c in colors for v in c]
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries + [0] * (768 - len(entries)))
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=list(ms), loop=0,
                   optimize=False, disposal=1)
    return out.getvalue()


def mp4_bytes(images: Sequence[Image.Image], ms: Sequence[int]) -> bytes:
    """An H.264 MP4 (yuv420p: plays in PowerPoint, Keynote, browsers) at the frames' pace; the
    last frame held as in the GIF."""
    import imageio_ffmpeg

    each = ms[0] if len(ms) > 1 else DEFAULT_MS
    fps = 1000.0 / each
    held = images[-1:] * max(0, round((ms[-1] - each) / each)) if ms else []
    w, h = images[0].size
    with tempfile.TemporaryDirectory(prefix="descent-lab-video-") as tmp:
        path = os.path.join(tmp, "out.mp4")
        writer = imageio_ffmpeg.write_frames(path, (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24",
                                             pix_fmt_out="yuv420p", quality=8, macro_block_size=2,
                                             ffmpeg_log_level="error", output_params=["-movflags", "+faststart"])
        writer.send(None)
        for im in list(images) + held:
            writer.send(np.asarray(im, np.uint8).tobytes())
        writer.close()
        with open(path, "rb") as f:
            return f.read()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def render(fig: go.Figure, fmt: str, frames: int | None = None, width: int = 1000, scale: float = 1.0,
           progress: Progress | None = None) -> bytes:
    """The figure as ``fmt`` ("gif", "mp4" or "png").  A video has ``frames`` frames (evenly
    spaced samples of the figure's, all of them if None); a PNG is the figure as it opens, at
    ``scale`` times its pixels (2 for slides).  ``progress(done, total)`` after each frame."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt == "png":
        return png_bytes(capture(fig, None, width, scale, progress)[0])
    names = frame_names(fig)
    if not names:
        raise ValueError("the figure has no frames: export it as a PNG")
    names = sample(names, frames or len(names))
    images = capture(fig, names, width, scale, progress)
    ms = durations(fig, len(images))
    return gif_bytes(images, ms, figure_colors(fig)) if fmt == "gif" else mp4_bytes(images, ms)
