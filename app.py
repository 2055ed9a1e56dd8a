"""Descent Lab: the entry point. Page config, navigation over app_pages/, the shared sidebar.

The pages live in app_pages/, not pages/: with a pages/ folder beside it, Streamlit serves the
first session after a start in its older multipage mode, which runs a page without this file."""

import streamlit as st

from optim import compile_cache
from ui import figure, keys, memory, nav, state, warmup
from ui.common import GLOBAL_SETTINGS, PRESENT, presentation_css

compile_cache.enable()


@st.cache_resource(show_spinner=False)
def _warm_up():
    """Once per server process: compile the lesson path's programs in the background."""
    return warmup.start()


_warm_up()
memory.bound()
raw = st.query_params.get(PRESENT.key, "0")
present = raw.lower() in ("1", "true", "yes", "on")
st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide",
                   initial_sidebar_state="collapsed" if present else "auto")
page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path or None,
                              default=not p.url_path) for p in nav.available()])
state.load(GLOBAL_SETTINGS, page.url_path or "home")
st.sidebar.toggle("Presentation mode", key=PRESENT.key,
                  help="Larger fonts, lines and markers and a projector-friendly layout; the link keeps it on.")
if st.session_state[PRESENT.key]:
    st.markdown(presentation_css(), unsafe_allow_html=True)
st.sidebar.caption(keys.HELP)
keys.shortcuts()
figure.preload()  # plotly.js loads while the page computes its first figure
page.run()
