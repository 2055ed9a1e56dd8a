"""Home: what Descent Lab teaches, and where each lesson lives."""

import streamlit as st

st.title("Descent Lab")
st.markdown(
    "Watch optimizers learn. Every update rule here is the formula of the course, run by JAX "
    "and drawn by Plotly: gradient descent, momentum, Nesterov, RMSprop, Adam and its variants, "
    "racing on loss surfaces you choose or type."
)
st.page_link("app_pages/race.py", label="**The optimizer race**: several optimizers, one start, one surface.", icon=":material/sports_score:")
