"""Home: what Descent Lab teaches, as a lesson path that follows the course (lessons.PATH)."""

import streamlit as st

from lessons import PATH
from ui import nav

st.title("Descent Lab")
st.markdown(
    "Watch optimizers learn. Every update rule here is the formula of the course, to the letter, "
    "run by JAX and drawn by Plotly. Follow the path below: each card opens its page ready to play "
    "(press **▶ Play** on the animated figures), and each page checks its lesson's claim on the runs it shows."
)
pages = {p.url_path: p.path for p in nav.available()}
lessons = [lesson for lesson in PATH if lesson.page in pages]
for i, lesson in enumerate(lessons):
    if i % 2 == 0:  # a row of two cards: on a phone they stack in the path's order
        cols = st.columns(2)
    with cols[i % 2].container(border=True):
        st.subheader(f"{i + 1} · {lesson.title}")
        st.write(lesson.text)
        st.page_link(pages[lesson.page], label="Open this lesson", icon=":material/play_circle:",
                     query_params=lesson.query())
st.caption("Every page keeps its settings in the address bar: copy the URL to share a configuration. "
           "Presentation mode (sidebar) enlarges everything for a projector.")
