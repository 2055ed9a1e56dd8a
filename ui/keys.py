"""Keyboard shortcuts for the animated figures, for a teacher at a projector: Space plays or
pauses, → and ← step one frame, Home goes back to the first.  They act on the animated figure
most in view, through the figure's own Play / Pause / Restart buttons and step slider (so the
figure's speed and labels stay its own), and never while a text field or a slider has focus."""

from __future__ import annotations

import streamlit as st

SHORTCUTS = {" ": "play / pause", "ArrowRight": "next frame", "ArrowLeft": "previous frame", "Home": "first frame"}
HELP = "Keys: Space plays or pauses the animation in view, → ← step one frame, Home restarts."

_JS = """<script>
(() => {
  if (window.__descentKeys) return;
  window.__descentKeys = true;
  const animated = () => [...document.querySelectorAll('.js-plotly-plot')].filter(
    g => g._fullLayout && g._fullLayout.sliders && g._fullLayout.sliders.length && g.layout.updatemenus);
  const inView = () => {
    let best = null, shown = 0;
    for (const g of animated()) {
      const r = g.getBoundingClientRect();
      const h = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0);
      if (h > shown) { best = g; shown = h; }
    }
    return best;
  };
  const button = (g, prefix) => g.layout.updatemenus.flatMap(m => m.buttons || []).find(
    b => (b.label || '').startsWith(prefix));
  // an animation interrupted (pause, another frame, the page left) rejects its promise: expected
  const run = (g, args) => { const p = window.Plotly.animate(g, ...args); if (p && p.catch) p.catch(() => {}); };
  const step = (g, d) => {
    const s = g._fullLayout.sliders[0], steps = g.layout.sliders[0].steps;
    const k = Math.max(0, Math.min(steps.length - 1, (s.active || 0) + d));
    run(g, steps[k].args);
  };
  document.addEventListener('keydown', e => {
    const t = e.target, tag = (t && t.tagName || '').toLowerCase();
    if (e.ctrlKey || e.metaKey || e.altKey || ['input', 'textarea', 'select', 'button'].includes(tag)
        || (t && (t.isContentEditable || t.getAttribute('role') === 'slider'))) return;
    const g = inView();
    if (!g || !window.Plotly) return;
    if (e.key === ' ') {
      const playing = !!(g._transitionData && g._transitionData._animationRaf);
      const b = button(g, playing ? '■' : '▶ Play');
      if (b) run(g, b.args);
    } else if (e.key === 'ArrowRight') step(g, 1);
    else if (e.key === 'ArrowLeft') step(g, -1);
    else if (e.key === 'Home') { const b = button(g, '◀◀'); if (b) run(g, b.args); }
    else return;
    e.preventDefault();
  });
})();
</script>"""


def shortcuts() -> None:
    """Install the keyboard shortcuts in the page (once per browser tab; this script is ours, not
    text from a user)."""
    st.html(_JS, unsafe_allow_javascript=True)
