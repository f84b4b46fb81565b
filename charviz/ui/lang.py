"""The language this browser session reads: the sidebar's English / 한국어 switch, kept in the URL (?lang=ko)."""

from __future__ import annotations

import streamlit as st

from charviz import i18n

LANG_KEY = "charviz_lang"
SWITCH_KEY = "lang_switch"


def language() -> str:
    """The session's language: its own choice first, then the URL's `lang`, then English."""
    lang = st.session_state.get(LANG_KEY) or st.query_params.get("lang") or i18n.DEFAULT_LANGUAGE
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _sync_url(lang: str) -> None:
    """The URL says the language (so a copied link or a reload keeps it); English is the default, left out."""
    if lang == i18n.DEFAULT_LANGUAGE:
        if "lang" in st.query_params:
            del st.query_params["lang"]
    elif st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang


def install() -> None:
    """Make charviz.i18n.t() (pages, ui and figures alike) speak this session's language."""
    i18n.set_language_resolver(language)
    if st.query_params.get("lang") and LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = language()  # a link's language stays when a page change drops the URL's
    _sync_url(language())


def _switched() -> None:
    st.session_state[LANG_KEY] = st.session_state[SWITCH_KEY]
    _sync_url(st.session_state[LANG_KEY])


def switch() -> None:
    """English / 한국어, in the sidebar (call inside `with st.sidebar`)."""
    st.session_state[SWITCH_KEY] = language()
    if language() == "ko":  # Korean wraps between words (eojeol), not inside them
        st.html("<style>[data-testid='stMarkdownContainer'] p, [data-testid='stMarkdownContainer'] li, "
                "[data-testid='stCaptionContainer'] { word-break: keep-all !important; }</style>")
    st.segmented_control(i18n.t("common.language"), list(i18n.LANGUAGES), key=SWITCH_KEY,
                         format_func=i18n.LANGUAGES.get, required=True, on_change=_switched,
                         label_visibility="collapsed")


def page_title(path: str, title: str) -> str:
    """A page's name in the navigation: the catalogue's `nav.<file stem>` when there is one, else `title`."""
    key = "nav." + path.rsplit("/", 1)[-1].removesuffix(".py")
    return i18n.t(key) if key in i18n.catalogue(i18n.DEFAULT_LANGUAGE) else title
