"""Descent Lab: the entry point. Page config, navigation over app_pages/, the shared sidebar.

The pages live in app_pages/, not pages/: with a pages/ folder beside it, Streamlit serves the
first session after a start in its older multipage mode, which runs a page without this file."""

import streamlit as st

from ui import state
from ui.common import GLOBAL_SETTINGS, PRESENT

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/race.py", title="Optimizer race", icon=":material/sports_score:", url_path="race"),
]

present = PRESENT.parse(st.query_params.get(PRESENT.key, "0")) if st.query_params.get(PRESENT.key, "0") in (
    "0", "1", "true", "false") else False
st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide",
                   initial_sidebar_state="collapsed" if present else "auto")
page = st.navigation(PAGES)
state.load(GLOBAL_SETTINGS, page.url_path or "home")
st.sidebar.toggle("Presentation mode", key=PRESENT.key,
                  help="Larger fonts, lines and markers for a projector; the link keeps it on.")
if st.session_state[PRESENT.key]:
    st.markdown("<style>html, body, [class*='css'] {font-size: 1.25rem;} h1 {font-size: 2.6rem;}</style>",
                unsafe_allow_html=True)
page.run()
