import streamlit as st

st.title("charviz")
st.write("Watch a character-level RNN learn, live.")
