"""Streamlit wiring: the only part of charviz that imports streamlit."""
