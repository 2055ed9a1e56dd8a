"""A Plotly figure drawn in place: each rerun updates the figure already on the page with
``Plotly.react`` instead of building a new chart.

Why not ``st.plotly_chart``: in Streamlit 1.67 a chart's element id is computed from the
figure's JSON (``key_as_main_identity=False``), and the frontend reads a new spec only when the
id changes; so every figure that changes is unmounted, drawn again from nothing (``newPlot``)
and then redrawn by its resize.  Measured in the browser on the race page, that is four full
draws for two figures after one slider step.  Here the component keeps its element across
reruns (a v2 component with a key has a key-only identity), and ``Plotly.react`` diffs the new
figure against the drawn one: one draw, of what changed.

The plotly.js it calls is Streamlit's own (the chunk ``st.plotly_chart`` loads, the same file,
from the browser's cache after the first page): one plotly.js in the tab, so the keyboard
shortcuts (``ui/keys.py``) and a chart drawn by ``st.plotly_chart`` (the tuning page's clickable
heatmap) share it.

While a figure is being drawn its element carries ``data-dl-drawing``; when the drawing is
done, ``data-dl-rev`` holds the revision it drew (the browser tests and the benchmark wait on
that).  AppTest sees the figure's JSON in the component's data (``tests/helpers.charts`` reads
it, beside ``st.plotly_chart``'s protos).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import streamlit as st
from plotly.io.json import to_json_plotly

try:
    import orjson
except ImportError:  # pragma: no cover - in requirements.txt
    orjson = None

NAME = "descent_lab_figure"

_JS = r"""
const loaded = window.__dlPlotly || (window.__dlPlotly = {});
function plotly(chunk) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loaded.promise) {
    // Streamlit's PlotlyChart chunk, next to its main script: importing it runs plotly.js,
    // which sets window.Plotly.
    const main = [...document.querySelectorAll('script[src]')].find(s => /static\/js\/index\.[^/]*\.js/.test(s.src));
    const url = new URL(chunk, main ? main.src : new URL('static/js/', document.baseURI));
    loaded.promise = import(url.href).then(() => window.Plotly);
  }
  return loaded.promise;
}
export default function ({ data, parentElement }) {
  let gd = parentElement.querySelector('div.dl-figure');
  if (!gd) {  // the same element as st.plotly_chart's, for the tests and the keyboard shortcuts
    const box = document.createElement('div');
    box.setAttribute('data-testid', 'stPlotlyChart');
    gd = document.createElement('div');
    gd.className = 'dl-figure';
    box.appendChild(gd);
    parentElement.appendChild(box);
  }
  const rev = data.rev;
  if (gd.getAttribute('data-dl-rev') === rev && gd._fullLayout) return;
  gd.setAttribute('data-dl-drawing', rev);
  const fig = JSON.parse(data.spec);
  plotly(data.chunk).then(P => P.react(gd, {data: fig.data || [], layout: fig.layout || {},
                                           frames: fig.frames || [], config: data.config}))
    .catch(e => console.error('figure not drawn', e))
    .finally(() => {
      if (gd.getAttribute('data-dl-drawing') === rev) {
        gd.removeAttribute('data-dl-drawing');
        gd.setAttribute('data-dl-rev', rev);
      }
    });
}
"""

_CSS = """
.dl-figure { width: 100%; }
"""

CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}}


@lru_cache(maxsize=1)
def _chunk() -> str:
    """The file name of Streamlit's PlotlyChart chunk (it changes with Streamlit's version)."""
    js = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(p.name for p in js.glob("PlotlyChart.*.js"))
    if not found:
        raise RuntimeError(f"Streamlit's PlotlyChart chunk is not in {js}")
    return found[0]


@lru_cache(maxsize=1)
def _component():
    return st.components.v2.component(NAME, js=_JS, css=_CSS, isolate_styles=False)


def to_json(fig) -> str:
    """The figure's JSON, as ``fig.to_json()`` writes it but without its deep copy of every
    trace, frame and template (4-5 times faster on the race and data figures)."""
    if not hasattr(fig, "_data"):
        return json.dumps(fig)
    d = {"data": fig._data, "layout": fig._layout}
    if fig.frames:
        d["frames"] = [fr.to_plotly_json() for fr in fig.frames]
    return to_json_plotly(d, engine="orjson" if orjson else "json")


def show(fig, key: str, config: dict | None = None) -> None:
    """Draw ``fig`` (a go.Figure or its dict) under ``key``, updating the figure drawn there before."""
    spec = to_json(fig)
    rev = format(hash(spec) & 0xFFFFFFFFFFFF, "x")
    _component()(key=key, data={"spec": spec, "rev": rev, "chunk": _chunk(), "config": config or CONFIG},
                 width="stretch", height="content")
