"""Demo links in the app: open a link -> the session's run is set up from it; "Copy link to this setup".

A link's setup is applied once per browser session (a reload is a new session, so it sets the demo up
again). The run starts only on Start, or at once with autostart=1. Parameters that were ignored (unknown,
out of range) are listed in one message until the user closes it. charviz.links does the parsing.
"""

from __future__ import annotations

import streamlit as st

from charviz import links
from charviz.errors import message
from charviz.escape import md
from charviz.i18n import t
from charviz.limits import BudgetError
from charviz.links import Problem, Setup

APPLIED_KEY = "_link_applied"  # the setup parameters already applied in this session
PROBLEMS_KEY = "_link_problems"
PROBE_KEY = "hidden_probe"  # the Hidden page's probe text
GTEXT_KEY = "g_text"  # the Gradients page's sequence to unroll


def setup_of(ws) -> Setup | None:
    """The Setup that reproduces this workspace's run, or None when its text cannot go into a URL."""
    if ws.source.kind != "corpus":
        return None
    return Setup(ws.source.name, ws.source.k, ws.config)


def page_inputs() -> dict[str, str]:
    """The page inputs this session has typed (Predict prefix, Hidden and Gradients probe texts)."""
    from charviz.ui.predict import KEEP_KEY, PREFIX_KEY

    got = {"prefix": st.session_state.get(KEEP_KEY, st.session_state.get(PREFIX_KEY)),
           "probe": st.session_state.get(PROBE_KEY), "gtext": st.session_state.get(GTEXT_KEY)}
    return {k: v for k, v in got.items() if isinstance(v, str) and v and len(v) <= links.MAX_TEXT}


def apply(setup: Setup, start: bool = False):
    """Put the session's run into `setup` (a new model) and the pages' inputs; start it if asked."""
    from charviz.ui.predict import KEEP_KEY, PREFIX_KEY, SOURCE_KEY
    from charviz.ui.session import corpus_source, corpus_text, reset
    from charviz.ui.settings import sync_widgets

    source = corpus_source(setup.corpus, setup.k)
    ws = reset(corpus_text(source.name, source.k), setup.config, source)
    sync_widgets(ws)
    if "prefix" in setup.inputs:
        st.session_state[PREFIX_KEY] = st.session_state[KEEP_KEY] = setup.inputs["prefix"]
        st.session_state[SOURCE_KEY] = (ws.source, 0)  # the Predict page keeps it (no default prefix)
    if "probe" in setup.inputs:
        st.session_state[PROBE_KEY] = setup.inputs["probe"]
    if "gtext" in setup.inputs:
        st.session_state[GTEXT_KEY] = setup.inputs["gtext"]
    if start or setup.autostart:
        from charviz.ui import classroom
        from charviz.ui.race_session import pause_race

        pause_race()  # one thing trains at a time (see charviz/ui/race_session.py)
        classroom.start(ws)  # within the server's training cap
    return ws


def from_url() -> None:
    """Apply the URL's demo link once per session (call from the entry script once torch is loaded)."""
    params = {k: st.query_params.get(k) for k in st.query_params.keys() if k not in links.APP_KEYS}
    if not params:
        return
    signature = tuple(sorted(params.items()))
    if st.session_state.get(APPLIED_KEY) == signature:
        return
    st.session_state[APPLIED_KEY] = signature
    setup, problems = links.parse(params)
    if problems:
        st.session_state[PROBLEMS_KEY] = problems
    if any(k in links.SETUP_KEYS for k in params):
        try:
            apply(setup)
        except BudgetError as e:  # within each widget's range, but over the session's budget: nothing was built
            c = setup.config
            st.session_state[PROBLEMS_KEY] = [*problems, Problem(
                "cell, hidden, window, batch", f"{c.cell}, {c.hidden_size}, {c.seq_len}, {c.batch_size}", "budget",
                detail=e)]


def describe(p: Problem) -> str:
    value = p.value if len(p.value) <= 40 else p.value[:40] + "…"
    why = t(f"links.bad_{p.reason}")
    if p.detail is not None:  # in the session's language (charviz.errors)
        why = t("errors.detail", what=why, detail=md(message(p.detail)))
    return t("links.problem", name=md(p.name), value=md(value), why=why)


def show_problems() -> None:
    """The ignored parameters of the link this session was opened with, until the user closes the message."""
    problems = st.session_state.get(PROBLEMS_KEY)
    if not problems:
        return
    with st.container(border=True):
        st.warning(t("links.ignored") + "\n" + "\n".join(f"- {describe(p)}" for p in problems),
                   icon=":material/link_off:")
        st.button(t("links.dismiss"), key="link_dismiss", on_click=st.session_state.pop, args=(PROBLEMS_KEY, None))


def share_panel(ws) -> None:
    """Train page: the link to this setup (built-in texts only), with the pages' inputs and the language."""
    setup = setup_of(ws)
    if setup is None:
        st.info(t("links.not_for_own_text"), icon=":material/link_off:")
        return
    setup.inputs = page_inputs()
    autostart = st.toggle(t("links.autostart"), key="link_autostart", help=t("links.autostart_help"))
    setup.autostart = autostart
    lang = st.query_params.get("lang", "")
    base = st.context.url.split("?", 1)[0] if st.context.url else ""
    st.code(base + links.query(setup, lang=lang), language=None, wrap_lines=True)
    st.caption(t("links.copy_help"))
