"""Streamlit helpers shared by the pages: settings bound to the URL, widgets built from the
registries, cached computations, export buttons."""
