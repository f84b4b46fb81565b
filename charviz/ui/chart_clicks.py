"""Clicks on a live plotly chart that Streamlit 1.67 would lose.

Streamlit 1.67 computes a plotly chart's element id from its whole figure, even when the chart has a key
(`streamlit/elements/plotly_chart.py`: `compute_and_register_element_id(..., key_as_main_identity=False,
plotly_spec=...)`), and its frontend needs that: it keeps a chart's figure per element id and only draws a
new figure under a new id (a key-only id freezes the chart at its first drawing). So a chart redrawn every
second while the run trains is a new element each second. A click on the drawing the user saw reaches the
server under that drawing's id; when the chart has been redrawn meanwhile, the server has already dropped
that id's value (a stale widget of the fragment run that redrew it), and the old drawing's `on_select`
callback, which it still calls, reads the key, which now names the new drawing, with nothing selected.

`missed_selection(key)` finds such a selection: a value the browser sent in this run for an id that ends in
the chart's key but is not the key's newest drawing, read once.
"""

from __future__ import annotations

import json

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

SEEN_KEY = "_chart_clicks_seen"  # ids whose selection was already read (the browser may send it again)


def missed_selection(key: str) -> dict | None:
    """The selection ({"selection": {"points": [...], ...}}) sent in this run for an earlier drawing of the
    plotly chart with this key (call it before drawing the chart); each one once. None if there is none."""
    ctx = get_script_run_ctx()
    safe = getattr(ctx, "session_state", None)
    state = getattr(safe, "_state", None)
    widgets = getattr(state, "_new_widget_state", None)
    mapper = getattr(state, "_key_id_mapper", None)
    if widgets is None or mapper is None:  # (another Streamlit: nothing to find)
        return None
    suffix = f"-{key}"
    seen = st.session_state.setdefault(SEEN_KEY, [])
    with safe._lock:
        current = mapper.get_id_from_key(key, None)  # the drawing the server made last
        sent = [(wid, w) for wid, w in widgets.states.items()
                if wid.endswith(suffix) and wid != current and wid not in seen]
    for wid, w in sent:
        value = _plain(w)
        if not (value.get("selection") or {}).get("points"):
            continue
        seen.append(wid)
        del seen[:-32]
        return value
    return None


def _plain(w) -> dict:
    """A plotly chart's widget state as a plain dict, serialized (the browser's JSON) or not."""
    v = getattr(w, "value", None)
    if hasattr(v, "WhichOneof"):  # a WidgetState proto
        if v.WhichOneof("value") != "string_value":
            return {}
        try:
            v = json.loads(v.string_value)
        except ValueError:
            return {}
    if hasattr(v, "to_dict"):
        v = v.to_dict()
    return v if isinstance(v, dict) else {}


# The browser side of the same problem: each drawing is mounted as a new plotly element, and plotly only knows
# which point is under the pointer after a mouse move over that element (its hover); a click with the pointer
# resting where it was selects nothing. This script (the same text every time, no input in it) gives each new
# chart under a resting pointer one mouse move at the pointer's place, so the point under it is hovered again.
_HOVER_JS = """<script>
(() => {
  if (window.__charvizKeepHover) return;
  window.__charvizKeepHover = true;
  let px = null, py = null;
  document.addEventListener('pointermove', e => { if (e.isTrusted) { px = e.clientX; py = e.clientY; } },
                            {capture: true, passive: true});
  const done = new WeakSet();
  const poke = gd => {  // one mouse move where the pointer rests, if it rests on this chart
    if (px === null || !gd.isConnected) return;
    const r = gd.getBoundingClientRect();
    if (px < r.left || px > r.right || py < r.top || py > r.bottom) return;
    const under = document.elementFromPoint(px, py);
    if (under && gd.contains(under)) under.dispatchEvent(new MouseEvent('mousemove',
      {clientX: px, clientY: py, bubbles: true, cancelable: true, view: window}));
  };
  const rehover = () => {  // each new chart: after plotly has drawn it (and after each later plot)
    for (const gd of document.querySelectorAll('%s .js-plotly-plot')) {
      if (done.has(gd) || typeof gd.on !== 'function') continue;
      done.add(gd);
      gd.on('plotly_afterplot', () => poke(gd));
      if (gd._fullLayout && gd.calcdata) requestAnimationFrame(() => poke(gd));
    }
  };
  new MutationObserver(rehover).observe(document.body, {childList: true, subtree: true});
})();
</script>"""


def keep_hover(container_key: str) -> None:
    """Keep plotly's hover through the redraws of the charts inside the container with this key (see above)."""
    st.html(_HOVER_JS % f".st-key-{container_key}", unsafe_allow_javascript=True)
