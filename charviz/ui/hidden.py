"""The Hidden page's widgets: probe text, live heatmap of the units, one unit over the text, unit finder,
gate saturation and the PCA path.

Every number comes from charviz.hidden.probe (charviz.inspect.memory_trace and the statistics in
charviz.hidden), every figure from charviz.figures.hidden. Nothing is computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from charviz import tables
from charviz.errors import message
from charviz.escape import md
from charviz.figures import hidden as fig
from charviz.hidden import FEATURES, ORDERS, REGEX, VIEWS, default_probe, key_pending, probe
from charviz.i18n import t
from charviz.ui.alerts import alert
from charviz.ui.classroom import taking_turns
from charviz.ui.rewind import model_for_view, rewind_slider, view_banner
from charviz.ui.session import Workspace, get_workspace
from charviz.ui.sidebar import live_every

MAX_PROBE = 2000  # characters in the probe box (all of them are drawn)
PROBE_KEY, KEEP_KEY, SOURCE_KEY = "hidden_probe", "_hidden_probe_keep", "_hidden_probe_source"
FREEZE_KEY, HELD_KEY = "hidden_freeze", "_hidden_held"
UNIT_KEY, CHART_KEY, PICKED_KEY = "hidden_unit", "hidden_heatmap", "_hidden_picked"
PROP_SEEN_KEY = "_hidden_property_seen"  # the property the unit was last chosen for
TOP_UNITS = 10  # rows of the unit finder's table
DEFAULT_REGEX = r"\bself\b"
CHART_CONFIG = {"displayModeBar": False}


def page_snapshot(ws: Workspace):
    """The model this page shows: the run's latest snapshot, or the one held while 'Freeze' is on.

    The one place where the page gets its model (a 'model at step N' choice plugs in here).
    """
    held = st.session_state.get(HELD_KEY)
    if st.session_state.get(FREEZE_KEY):
        if held is not None and held[0] == (id(ws.run), ws.generation):
            return held[1]
        snap = ws.run.snapshot()
        st.session_state[HELD_KEY] = ((id(ws.run), ws.generation), snap)
        return snap
    st.session_state.pop(HELD_KEY, None)
    return ws.run.snapshot()


def _restore_probe(ws: Workspace) -> None:
    """Keep the probe across page changes; a new text (another corpus, a reset) starts from its default."""
    source = (ws.source, ws.generation if ws.source.kind != "corpus" else 0)
    if st.session_state.get(SOURCE_KEY) != source:
        st.session_state[SOURCE_KEY] = source
        st.session_state[PROBE_KEY] = default_probe(ws.run.trainer.val_text, ws.text)
    elif PROBE_KEY not in st.session_state:
        st.session_state[PROBE_KEY] = st.session_state.get(KEEP_KEY, "")


def _default(ws: Workspace) -> None:
    st.session_state[PROBE_KEY] = default_probe(ws.run.trainer.val_text, ws.text)


def page() -> None:
    """The Hidden page: title and intro, probe box and Freeze toggle, then the live panel."""
    ws = get_workspace()
    head, rewind = st.columns([2, 1], vertical_alignment="bottom")  # the heatmap on the first screen at 1280x720
    head.title(t("hidden.title"))
    with rewind:
        rewind_slider("hidden", ws.run)
    st.markdown(t("hidden.intro"))
    _restore_probe(ws)
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    raw = left.text_area(t("hidden.probe_label"), key=PROBE_KEY, max_chars=MAX_PROBE, height=80,
                         help=t("hidden.probe_help"))
    st.session_state[KEEP_KEY] = raw
    right.toggle(t("hidden.freeze"), key=FREEZE_KEY, help=t("hidden.freeze_help"))
    right.button(t("hidden.probe_reset"), key="hidden_probe_default", on_click=_default, args=(ws,),
                 width="stretch")
    frozen = bool(st.session_state.get(FREEZE_KEY))

    @st.fragment(run_every=None if frozen else live_every(ws))
    @taking_turns  # (a watcher's redraw waits its turn)
    def _panel() -> None:
        _draw(get_workspace(), st.session_state.get(KEEP_KEY, ""))

    _panel()


def _status(snap, ws: Workspace) -> None:
    kw = {"step": f"{snap.step:,}", "cell": snap.config.cell.upper(), "units": snap.config.hidden_size}
    if st.session_state.get(FREEZE_KEY):
        st.caption(t("hidden.status_frozen", now=f"{ws.run.trainer.steps:,}", **kw))
    else:
        state = "idle" if snap.state == "idle" and snap.step == 0 else \
            ("paused" if snap.state == "idle" else snap.state)  # a loaded model that has not started again
        state = t(f"hidden.state_{state}") if state in ("running", "paused", "idle", "stopped") else state
        st.caption(t("hidden.status_live" if snap.state == "running" else "hidden.status", state=state, **kw))
    if snap.step == 0:
        st.info(t("hidden.untrained"), icon=":material/info:")


def _feature_name(name: str) -> str:
    return t(f"hidden.feature_{name}")


def _picked_unit(H: int) -> None:
    """A click on the heatmap's r column selects that unit (applied once per new click)."""
    event = st.session_state.get(CHART_KEY)
    points = []
    try:
        points = event["selection"]["points"] if event else []
    except (KeyError, TypeError):
        points = []
    picked = None
    for p in points:
        data = p.get("customdata")
        if data is not None:
            picked = int(data[0] if isinstance(data, list | tuple) else data)
    if picked is not None and picked != st.session_state.get(PICKED_KEY):
        st.session_state[PICKED_KEY] = picked
        if 0 <= picked < H:
            st.session_state[UNIT_KEY] = picked
    elif picked is None:
        st.session_state.pop(PICKED_KEY, None)


def _draw(ws: Workspace, raw: str) -> None:
    snap = page_snapshot(ws)
    _status(snap, ws)
    view = model_for_view(snap, ws.run)  # the live (or frozen) model, or the kept one at the slider's step
    view_banner(view)
    vocab, model = snap.vocab, view.model
    known, dropped = vocab.drop_unknown(raw)
    if dropped:
        st.html(tables.prefix_html(raw, dropped))
        st.warning(tables.unknown_message(raw, dropped), icon=":material/warning:")
    if not known:
        st.info(t("hidden.empty_probe"), icon=":material/info:")
        return
    cell, H = model.cell, model.hidden_size
    views = VIEWS[cell]
    c1, c2, c3 = st.columns([3, 2.2, 2.2])
    if st.session_state.get("hidden_view") not in views:
        st.session_state["hidden_view"] = "h"
    view = c1.segmented_control(t("hidden.view"), views, key="hidden_view", required=True,
                                help=t("hidden.view_help"))
    order = c2.selectbox(t("hidden.order"), ORDERS, key="hidden_order",
                         format_func=lambda o: t(f"hidden.order_{o}"), help=t("hidden.order_help"))
    props = [*[f for f in FEATURES if f != "key_pending" or key_pending(known) is not None], REGEX]
    if st.session_state.get("hidden_property") not in props:
        st.session_state["hidden_property"] = props[0]
    prop = c3.selectbox(t("hidden.property"), props, key="hidden_property", format_func=_feature_name,
                        help=t("hidden.property_help"))
    regex = ""
    if prop == REGEX:
        regex = st.text_input(t("hidden.regex_label"), value=DEFAULT_REGEX, key="hidden_regex",
                              help=t("hidden.regex_help"))
    res = probe(model, vocab, known, view, prop, regex, order)
    name = _feature_name(prop) if prop != REGEX else f"/{regex}/"
    if res.error:
        alert("error", t("hidden.regex_bad", reason=md(message(res.error))), res.error, icon=":material/block:")
    elif res.constant_feature:
        st.info(t("hidden.property_constant", name=name), icon=":material/info:")
    ranked = res.ranking is not None and res.ranking.best is not None
    strip = res.ranking.r if ranked else None

    # the unit: the best one for a newly chosen property, then a click in the heatmap or the box
    if ranked and st.session_state.get(PROP_SEEN_KEY) != (prop, regex):
        st.session_state[UNIT_KEY] = res.ranking.best
    st.session_state[PROP_SEEN_KEY] = (prop, regex)
    _picked_unit(H)
    if st.session_state.get(UNIT_KEY) is None or not 0 <= int(st.session_state[UNIT_KEY]) < H:
        st.session_state[UNIT_KEY] = res.ranking.best if ranked else 0
    unit = int(st.session_state[UNIT_KEY])

    chars = list(known)
    st.plotly_chart(fig.unit_heatmap(res.values, chars, res.order, res.view, selected=unit, strip=strip,
                                     strip_title=f"r ({name})"),
                    theme=None, key=CHART_KEY, on_select="rerun", selection_mode="points", config=CHART_CONFIG)
    st.caption(t("hidden.heatmap_caption", name=name) if ranked else t("hidden.heatmap_caption_plain"))

    # ---- one unit over the text
    st.subheader(t("hidden.one_unit"))
    u1, u2 = st.columns([1, 3], vertical_alignment="bottom")
    u1.number_input(t("hidden.unit_select"), 0, H - 1, key=UNIT_KEY, step=1, help=t("hidden.unit_select_help"))
    if ranked:
        u2.button(f"{t('hidden.best_unit')}: {res.ranking.best}", key="hidden_best",
                  on_click=st.session_state.__setitem__, args=(UNIT_KEY, res.ranking.best))
    unit = int(st.session_state[UNIT_KEY])
    values = res.values[:, unit]
    scale = fig.view_scale(res.view, res.values)
    r_text = _r_text(res, unit)
    gate = scale["zmin"] >= 0
    st.caption(t("hidden.one_unit_caption_gate" if gate else "hidden.one_unit_caption", unit=unit,
                 view=fig.view_title(res.view), name=name, r=r_text))
    st.html(fig.unit_text_html(known, values, scale["zmin"], scale["zmax"], res.view))
    st.html(fig.scale_legend_html(scale["zmin"], scale["zmax"]))
    st.plotly_chart(fig.unit_curve(values, chars, unit, res.view, res.feature, name), theme=None,
                    key="hidden_curve", config=CHART_CONFIG)

    # ---- unit finder
    st.subheader(t("hidden.finder"))
    if res.feature is not None and not res.constant_feature:
        if ranked:
            st.caption(t("hidden.finder_caption", name=name, view=fig.view_title(res.view)))
            f1, f2 = st.columns([1, 2.4])
            f1.dataframe(finder_table(res.ranking), hide_index=True, width="stretch",
                         column_config={t("hidden.finder_col_r"): st.column_config.NumberColumn(format="%+.3f"),
                                        t("hidden.finder_col_abs"): st.column_config.NumberColumn(format="%.3f")})
            best = res.ranking.best
            with f2:
                st.markdown(t("hidden.finder_best", unit=best, r=f"{res.ranking.r[best]:+.3f}"))
                st.html(fig.unit_text_html(known, res.values[:, best], scale["zmin"], scale["zmax"], res.view))
        else:
            st.info(t("hidden.finder_none"), icon=":material/info:")

    # ---- gates and the path
    g1, g2 = st.columns(2, gap="medium")
    with g1:
        st.subheader(t("hidden.saturation"))
        if res.saturation:
            st.caption(t("hidden.saturation_caption"))
            st.plotly_chart(fig.saturation_figure(res.saturation), theme=None, key="hidden_saturation",
                            config=CHART_CONFIG)
        else:
            st.info(t("hidden.saturation_rnn"), icon=":material/info:")
    with g2:
        st.subheader(t("hidden.path"))
        if len(known) >= 3:
            st.caption(t("hidden.path_caption", pct=f"{100 * float(res.pca.explained.sum()):.1f}"))
            st.plotly_chart(fig.pca_figure(res.pca, chars), theme=None, key="hidden_pca", config=CHART_CONFIG)
        else:
            st.info(t("hidden.path_short"), icon=":material/info:")


def _r_text(res, unit: int) -> str:
    if res.ranking is None:
        return "—"
    r = res.ranking.r[unit]
    return f"{r:+.3f}" if np.isfinite(r) else t("hidden.constant")


def finder_table(ranking, n: int = TOP_UNITS) -> pd.DataFrame:
    """The top n units by |r|: rank, unit, r, |r| (units with a defined r only)."""
    top = [int(u) for u in ranking.order[:n] if np.isfinite(ranking.r[u])]
    return pd.DataFrame({
        t("hidden.finder_col_rank"): np.arange(1, len(top) + 1),
        t("hidden.finder_col_unit"): top,
        t("hidden.finder_col_r"): ranking.r[top],
        t("hidden.finder_col_abs"): np.abs(ranking.r[top]),
    })
