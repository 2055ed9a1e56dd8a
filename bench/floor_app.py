"""The floor of the browser benchmark: the least that a Streamlit page with one slider and one
small Plotly chart costs.  bench/bench_browser.py serves it beside the app and divides by it.

    streamlit run bench/floor_app.py
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.title("Floor")
k = st.sidebar.slider("frequency", 1, 50, 5)
x = np.linspace(0.0, 1.0, 50)
st.plotly_chart(go.Figure(go.Scatter(x=x, y=np.sin(k * x) * np.exp(-x), mode="lines")))
