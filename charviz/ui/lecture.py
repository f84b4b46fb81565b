"""The Lecture page: chapter navigation (in the URL: ?chapter=6), the chapter's text, its live figures, and
the "Set up this demo" button. The figures are the other pages' figure builders, fed from the session's model.
"""

from __future__ import annotations

import streamlit as st

from charviz import figures, hidden, lecture
from charviz.data import show_text
from charviz.errors import message
from charviz.escape import md
from charviz.figures import hidden as hidden_figures
from charviz.hello import BLOG_ORDER, hello_trace
from charviz.i18n import t
from charviz.inspect import forward_trace, gradient_flow, scalar_bptt
from charviz.limits import BudgetError, describe_budget
from charviz.links import Setup
from charviz.race import CHANCE, check_budget, verdict
from charviz.ui import classroom, links
from charviz.ui.race_session import get_race_holder, new_race
from charviz.ui.session import get_workspace
from charviz.ui.sidebar import REFRESH_S, live_every
from charviz.ui.status import state_words

CHAPTER_KEY = "lecture_chapter"
DONE_KEY = "_lecture_done"
REFUSED_KEY = "_lecture_refused"  # the BudgetError of the last "Set up this demo" (rendered when drawn)
TOAST_KEY = "_lecture_refused_toast"  # ... said once in a toast too: the button may be at the screen's bottom
FLOW_CHARS = 48  # characters of the model's own text the gradient figures unroll
SMALL_V, SMALL_H = 12, 16  # the largest model the all-numbers hello figure is drawn for
CLIP_WINDOW = 100  # steps over which the clipping count is taken


def current_chapter() -> int:
    """This session's chapter: its own (Previous/Next) first, then the URL's, then 1; kept in the URL."""
    n = st.session_state.get(CHAPTER_KEY)
    if n is None:
        raw = st.query_params.get("chapter")
        n = lecture.parse_chapter(raw) if raw is not None else lecture.FIRST
        if n is None:
            st.warning(t("lecture.bad_chapter", value=raw, total=lecture.LAST), icon=":material/menu_book:")
            n = lecture.FIRST
        st.session_state[CHAPTER_KEY] = n
    if st.query_params.get("chapter") != str(n):
        st.query_params["chapter"] = str(n)
    return n


def _go(n: int) -> None:
    st.session_state[CHAPTER_KEY] = n
    st.query_params["chapter"] = str(n)
    st.session_state.pop(DONE_KEY, None)
    st.session_state.pop(REFUSED_KEY, None)


def describe_setup(setup: Setup) -> str:
    c = setup.config
    text = f"{setup.corpus} (k={setup.k})" if setup.k is not None else setup.corpus
    clip = t("lecture.what_clip", clip=f"{c.clip:g}") if c.clip is not None else t("lecture.what_no_clip")
    return t("lecture.what", text=text, cell=t(f"settings.cell_{c.cell}"), hidden=c.hidden_size, window=c.seq_len,
             lr=f"{c.lr:g}", clip=clip, seed=c.seed)


def set_up(ch: lecture.Chapter) -> None:
    """Button callback: the session's run becomes the chapter's demo, and trains. Chapter 7's demo is the race
    (three models on the long-range task); the session's run is set to its LSTM and waits (one thing trains).

    A demo over this server's per-session budget (set tighter than the default, which every chapter fits) is
    refused before anything changes: the session's model, its training and its race stay as they were, and
    the page says why (REFUSED_KEY holds the error; it is rendered in the reader's language when drawn)."""
    st.session_state.pop(DONE_KEY, None)
    st.session_state.pop(REFUSED_KEY, None)
    try:
        if ch.race is not None:
            check_budget(ch.race)  # the race's three models first: a refusal leaves the session's run alone
        links.apply(ch.setup, start=ch.race is None)  # BudgetError before the run is replaced
    except BudgetError as e:
        st.session_state[REFUSED_KEY] = st.session_state[TOAST_KEY] = e
        return
    if ch.race is not None:
        holder = get_race_holder()
        new_race(ch.race)
        classroom.start_other(holder, holder.race.start)  # within the server's training cap, like the Race page
    st.session_state[DONE_KEY] = describe_setup(ch.setup) if ch.race is None else \
        t("lecture.race_what", k=ch.race.k, window=ch.race.seq_len, hidden=ch.race.hidden_size)


def is_demo(ws, setup: Setup) -> bool:
    """True when the session trains the chapter's demo (same text and config)."""
    return (ws.source.kind == "corpus" and ws.source.name == setup.corpus and ws.source.k == setup.k
            and ws.config == setup.config)


def nav(n: int, where: str) -> None:
    """Previous / Chapter n of 8 / Next. Each button is keyed by the chapter it is drawn on: Streamlit 1.67 can
    deliver a click again within the same interaction, and then calls what the newest drawing registered for
    the clicked key; with one key for every chapter, a Next clicked on chapter 3 went on to 5. Keyed by n, a
    replayed click names no button of the new chapter's drawing and does nothing. (The containers keep the
    CSS classes .st-key-lecture_next_top ... for the browser tests.)"""
    c1, c2, c3 = st.columns([1, 3, 1], vertical_alignment="center")
    with c1.container(key=f"lecture_prev_{where}"):
        st.button(t("lecture.previous"), key=f"lecture_prev_{where}_{n}", icon=":material/arrow_back:",
                  disabled=n <= lecture.FIRST, on_click=_go, args=(n - 1,), width="stretch")
    c2.markdown(f"<div style='text-align:center'>{t('lecture.chapter_of', n=n, total=lecture.LAST)}</div>",
                unsafe_allow_html=True)
    with c3.container(key=f"lecture_next_{where}"):
        st.button(t("lecture.next"), key=f"lecture_next_{where}_{n}", icon=":material/arrow_forward:",
                  disabled=n >= lecture.LAST, on_click=_go, args=(n + 1,), width="stretch")


def _probe(text: str, vocab, fallback: str, n: int) -> str:
    """The chapter's probe text if the model can read it, else a piece of the model's own text."""
    if text and not vocab.unknown(text):
        return text
    return fallback[:n]


def _powers() -> dict[str, str]:
    """The numbers of chapter 6, from the one-neuron model (charviz.inspect.scalar_bptt), not typed in."""
    g3, g_half = scalar_bptt(3.0, 100, "linear"), scalar_bptt(0.5, 20, "linear")
    return {"p10": f"{g3[100 - 10]:,.0f}", "p20": f"{g3[100 - 20]:,.0f}", "p100": f"{g3[0]:.3g}",
            "half20": f"{g_half[0]:.2g}"}


def chapter_text(n: int) -> str:
    kw = {}
    if n == 6:
        kw = _powers()
    elif n == 7:
        kw = {"k": lecture.LONG_K}
    return t(f"lecture.c{n}_body", **kw)


def draw_figure(name: str, ch: lecture.Chapter, ws, snap) -> None:
    """One of the chapter's figures, from the session's model as it is now."""
    vocab, model = snap.vocab, snap.model
    own = ws.run.trainer.val_text or ws.text
    key = f"lecture_{ch.number}_{name}"
    if name in ("steps_probs", "topk"):
        text = _probe(ch.probe, vocab, own, 16)
        trace = forward_trace(model, vocab, text)
        if name == "steps_probs":
            st.plotly_chart(figures.step_heatmap(trace, "probs", max_cols=16), key=key, theme=None)
        else:
            title = t("predict.next_after", ellipsis="", tail=show_text(text[:-1]))
            tail = forward_trace(model, vocab, text[:-1])
            st.plotly_chart(figures.topk_figure(tail.next_probs, vocab.itos, 5, title), key=key, theme=None)
    elif name in ("hello", "hello_hidden"):
        if len(vocab) > SMALL_V or snap.config.hidden_size > SMALL_H or vocab.unknown("hello"):
            st.info(t("lecture.needs_small", v=SMALL_V, h=SMALL_H), icon=":material/zoom_in:")
            return
        trace = hello_trace(model, vocab)
        st.plotly_chart(figures.hello_figure(trace, BLOG_ORDER), key=key, theme=None,
                        config={"displayModeBar": False})
    elif name in ("hidden_units", "hidden_unit_text"):
        text = _probe(ch.probe, vocab, own, 400)
        res = hidden.probe(model, vocab, text, "h", "in_brackets", order="correlation")
        best = res.ranking.best if res.ranking is not None else None
        if name == "hidden_units":
            st.plotly_chart(hidden_figures.unit_heatmap(res.values, list(text), res.order, "h", selected=best,
                                                        strip=res.ranking.r if best is not None else None,
                                                        strip_title=t("lecture.memory_strip")),
                            key=key, theme=None, config={"displayModeBar": False})
        elif best is not None:
            st.caption(t("lecture.memory_best", unit=best, r=f"{res.ranking.r[best]:+.2f}"))
            st.html(hidden_figures.unit_text_html(text, res.values[:, best], -1.0, 1.0, "h"))
    elif name == "loss":
        st.plotly_chart(figures.loss_figure(snap.history, snap.val_history, len(vocab)), key=key, theme=None)
    elif name == "grad_norm":
        st.plotly_chart(figures.grad_norm_figure(snap.history, snap.config.clip), key=key, theme=None)
    elif name in ("flow", "saliency"):
        if name == "saliency" and ws.source.name == "long-range":
            line = own.split("\n")[1] if "\n" in own else own
            text = line[-(FLOW_CHARS + 1):]  # one whole line: the key, the fillers, ':' and the recalled key
        else:
            text = own[:FLOW_CHARS + 1]
        flow = gradient_flow(model, vocab, text)
        fig = (figures.gradient_flow_figure(flow, snap.config.seq_len) if name == "flow"
               else figures.saliency_figure(flow))
        st.plotly_chart(fig, key=key, theme=None)
    elif name == "scalar":
        curves = {t("gradients.curve_linear", w="3"): scalar_bptt(3.0, 20, "linear"),
                  t("gradients.curve_linear", w="0.5"): scalar_bptt(0.5, 20, "linear"),
                  t("gradients.curve_one"): scalar_bptt(1.0, 20, "linear")}
        st.plotly_chart(figures.scalar_bptt_figure(curves), key=key, theme=None)
    elif name in ("race_recall", "race_loss"):
        race = get_race_holder().race
        if race is None:
            if name == ch.figures[0]:  # said once for the chapter
                st.info(t("lecture.no_race"), icon=":material/sprint:")
            return
        rs = race.snapshot()
        if name == "race_recall":
            st.subheader(verdict(rs.latest_recall()) if rs.steps else t("race.verdict_none"))
            st.plotly_chart(figures.race_recall_figure(rs.evals, CHANCE), key=key, theme=None)
        else:
            st.plotly_chart(figures.race_loss_figure(rs.history, rs.vocab_size), key=key, theme=None)


def clipping_metric(snap) -> None:
    rows = [r for r in snap.history if r.get("applied", True)][-CLIP_WINDOW:]
    if snap.config.clip is None or not rows:
        return
    fired = sum(1 for r in rows if r.get("clipped"))
    # a short value: in projector mode the metric's number is 3.2rem tall, in a column of half the page
    st.metric(t("layout.clipping_label", m=len(rows)), t("layout.clipping_value", n=fired, m=len(rows)),
              help=t("lecture.clipping_help"))


def chapter_view() -> None:
    """The whole page."""
    st.title(t("lecture.title"))
    st.caption(t("lecture.intro"))
    n = current_chapter()
    ch = lecture.chapter(n)
    nav(n, "top")
    st.header(t(f"lecture.c{n}_title"))
    text_col, fig_col = st.columns([1, 1.6], gap="large")
    with text_col:
        st.markdown(chapter_text(n), unsafe_allow_html=True)
        st.button(t("lecture.set_up"), key=f"lecture_setup_{n}", type="primary", icon=":material/play_circle:",
                  on_click=set_up, args=(ch,), help=t("lecture.set_up_help", what=describe_setup(ch.setup)),
                  width="stretch")
        done, refused = st.session_state.get(DONE_KEY), st.session_state.get(REFUSED_KEY)
        if refused is not None:
            st.error(t("demo.refused", reason=md(message(refused)), limits=describe_budget()),
                     icon=":material/block:")
            if st.session_state.pop(TOAST_KEY, None) is not None:  # (under the button: maybe below the fold)
                st.toast(t("demo.refused_toast"), icon=":material/block:")
        elif done:
            st.success(t("lecture.done", what=done), icon=":material/check_circle:")
        ws = get_workspace()
        if ch.race is None and not is_demo(ws, ch.setup):  # here, under its button: the figures keep the room
            st.info(t("lecture.not_this_demo"), icon=":material/tips_and_updates:")

    moving = live_every(ws) or (REFRESH_S if ch.race is not None and get_race_holder().running else None)

    @st.fragment(run_every=moving)
    def live() -> None:
        ws = get_workspace()
        snap = ws.run.snapshot()
        st.caption(t("lecture.running_on", source=ws.source.label, cell=snap.config.cell.upper(),
                     hidden=snap.config.hidden_size, step=f"{snap.step:,}", state=state_words(snap.state)))
        for name in ch.figures:
            draw_figure(name, ch, ws, snap)
        if n == 6:
            clipping_metric(snap)  # under the figures: they come first on a 1280x720 screen

    with fig_col:
        live()
    st.divider()
    nav(n, "bottom")
