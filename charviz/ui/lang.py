"""The language this browser session reads: `?lang=ko` in the URL, or the sidebar's choice."""

from __future__ import annotations

import streamlit as st

from charviz import i18n

LANG_KEY = "charviz_lang"


def language() -> str:
    """The session's language: its own choice first, then the URL's `lang`, then English."""
    lang = st.session_state.get(LANG_KEY) or st.query_params.get("lang") or i18n.DEFAULT_LANGUAGE
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def install() -> None:
    """Make charviz.i18n.t() (pages, ui and figures alike) speak this session's language."""
    i18n.set_language_resolver(language)
