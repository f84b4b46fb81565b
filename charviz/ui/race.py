"""The Race page (pages/race.py calls `page()`).

Race: a vanilla RNN, an LSTM and a GRU learn the long-range task side by side (or a sweep over k).
"""

import streamlit as st

from charviz import figures
from charviz.errors import message
from charviz.escape import md
from charviz.i18n import t
from charviz.limits import BudgetError, describe_budget
from charviz.race import CHANCE, RaceSettings, check_budget, verdict
from charviz.ui import classroom
from charviz.ui.alerts import alert
from charviz.ui.live_chart import live_chart
from charviz.ui.race_session import get_race_holder, new_race, new_sweep
from charviz.ui.session import get_workspace

REFRESH_S = 1.0
HIDDEN = (16, 32, 64, 128)
SWEEP_KS = (2, 5, 10, 15, 20, 30, 40, 60)
MODES = ("race", "sweep")


def _snapshot(which: str):
    """A copy of the session's race or sweep ("race" | "sweep"), None if there is none yet."""
    part = getattr(get_race_holder(), which)
    return part.snapshot() if part is not None else None


def page() -> None:
    """Draw the page: widgets, figures and live fragments (no math: the numbers come from charviz)."""
    st.title(t("race.title"))
    st.markdown(t("race.intro"))

    holder = get_race_holder()
    defaults = RaceSettings()
    c1, c2, c3 = st.columns(3)
    # the mode at the right of the buttons' row (drawn first: the buttons depend on it); charts on screen 1
    b1, b2, b3, b4 = st.columns([1, 1, 1, 2.1], vertical_alignment="bottom")
    mode = b4.segmented_control(t("race.mode"), MODES, default="race", required=True, key="race_mode",
                                format_func=lambda m: t(f"race.mode_{m}"), label_visibility="collapsed")
    k = c1.number_input(t("race.k"), 0, 200, defaults.k, key="race_k", help=t("race.k_help"))
    window = c2.number_input(t("race.window"), 2, 256, defaults.seq_len, key="race_window", help=t("race.window_help"))
    hidden = c3.select_slider(t("race.hidden"), HIDDEN, value=defaults.hidden_size, key="race_hidden")
    wanted = RaceSettings(k=int(k), seq_len=int(window), hidden_size=int(hidden))
    if mode == "sweep":
        s1, s2 = st.columns(2)
        ks = s1.multiselect(t("race.sweep_ks"), SWEEP_KS, default=[2, 10, 20, 30, 40], key="race_sweep_ks")
        budget = s2.number_input(t("race.budget"), 10, 5000, 300, 10, key="race_budget", help=t("race.budget_help"))
        window_needed = max(ks) + 1 if ks else 0
    else:
        window_needed = int(k) + 1
    try:  # the three models against the session's budget, as the Train page does for one (nothing is built)
        ks_checked = [max(ks)] if mode == "sweep" and ks else [int(k)]
        for kk in ks_checked:
            est = check_budget(RaceSettings(k=kk, seq_len=int(window), hidden_size=int(hidden)))
        refusal = ""
    except BudgetError as e:
        est = None
        refusal = t("limits.refused", reason=md(message(e)))
        st.error(refusal, icon=":material/block:")

    def _start(which: str) -> None:
        """Start (or resume) the race or the sweep; the session's main run pauses (one thing trains at a time)."""
        ws = get_workspace()
        was = ws.run.running
        ws.run.pause(wait=False)
        st.session_state["race_paused_main"] = was
        h = get_race_holder()
        other = h.sweep if which == "race" else h.race
        if other is not None and other.running:
            other.pause(wait=False)
        target = h.race if which == "race" else h.sweep
        if target is not None:
            classroom.start_other(h, target.start)  # the session's race counts as one run in the server's cap

    def _pause(which: str) -> None:
        h = get_race_holder()
        target = h.race if which == "race" else h.sweep
        if target is not None:
            target.pause(wait=False)  # stops after the round in progress: the click does not wait for it

    def _step() -> None:
        get_workspace().run.pause(wait=False)
        h = get_race_holder()
        if h.race is not None:
            h.race.step_once()

    def _apply(settings: RaceSettings, start: bool = False) -> None:
        new_race(settings)
        if start:
            _start("race")

    def _apply_sweep(settings: RaceSettings, ks: list[int], budget: int) -> None:
        new_sweep(settings, ks, budget)
        _start("sweep")

    if mode == "race" and holder.race is None and refusal:
        pass  # nothing within the budget to show yet: the message above says why
    elif mode == "race":
        if holder.race is None:
            new_race(wanted)
        race = holder.race
        same = race.settings == wanted
        # one key per action: Streamlit 1.67 can deliver a click again within the same interaction, calling what
        # the newest drawing registered for the clicked key (charviz/ui/sidebar.py); with one key, a Pause
        # delivered again once the button said Resume started the race again. (The container keeps the CSS
        # class .st-key-race_start_pause.)
        if race.running:
            with b1.container(key="race_start_pause"):
                st.button(t("race.pause"), key="race_pause", type="primary", icon=":material/pause:",
                          on_click=_pause, args=("race",), width="stretch")
        elif same:
            with b1.container(key="race_start_pause"):
                st.button(t("race.resume") if race.steps else t("race.start"), key="race_start", type="primary",
                          icon=":material/play_arrow:", on_click=_start, args=("race",), width="stretch")
        else:
            b1.button(t("race.apply"), key="race_apply", type="primary", icon=":material/play_arrow:",
                      on_click=_apply, args=(wanted, True), width="stretch", disabled=bool(refusal))
        b2.button(t("race.step"), key="race_step", on_click=_step, icon=":material/skip_next:", width="stretch",
                  disabled=not same)
        b3.button(t("race.reset"), key="race_reset", on_click=_apply, args=(wanted,), icon=":material/restart_alt:",
                  width="stretch", disabled=bool(refusal))
        if not same:
            s = race.settings
            st.info(t("race.changed", k=s.k, window=s.seq_len, hidden=s.hidden_size), icon=":material/tune:")
        if race.running and st.session_state.get("race_paused_main"):
            st.caption(t("race.main_paused"))
    else:
        sweep = holder.sweep
        if sweep is not None and sweep.running:
            b1.button(t("race.pause"), key="sweep_pause", type="primary", on_click=_pause, args=("sweep",),
                      icon=":material/pause:", width="stretch")
        else:
            b1.button(t("race.start"), key="sweep_start", type="primary", icon=":material/play_arrow:",
                      on_click=_apply_sweep, args=(wanted, list(ks), int(budget)), width="stretch",
                      disabled=not ks or bool(refusal))
            if sweep is not None and sweep.state == "paused":
                b2.button(t("race.resume"), key="sweep_resume", on_click=_start, args=("sweep",))

    if int(window) <= window_needed - 1:
        st.warning(t("race.short_window", window=int(window), dep=window_needed), icon=":material/content_cut:")

    drawn_running = holder.running

    def _state_word(state: str) -> str:
        return t(f"race.state_{state}")

    @st.fragment(run_every=REFRESH_S if holder.running else None)
    def live_race() -> None:
        snap = _snapshot("race")
        if snap is None:
            return
        if snap.error:
            alert("error", t("race.error", error=message(snap.error)), snap.error)
        st.markdown(t("race.status", state=_state_word(snap.state), steps=f"{snap.steps:,}",
                      seconds=f"{snap.seconds:,.0f}", cps=f"{snap.chars_per_sec:,.0f}")
                    + "  \n**" + (verdict(snap.latest_recall()) if snap.steps else t("race.verdict_none")) + "**")
        a, b = st.columns(2)  # (redrawn in place while the race runs: charviz.ui.live_chart)
        with a:
            live_chart(figures.race_loss_figure(snap.history, snap.vocab_size), key="race_loss")
        with b:
            live_chart(figures.race_recall_figure(snap.evals, CHANCE), key="race_recall")
        c, d = st.columns(2)
        with c:
            live_chart(figures.race_grad_figure(snap.probe), key="race_grad")
        d.caption(t("race.grad_caption", probe=snap.probe_text))
        if get_race_holder().running != drawn_running:
            st.rerun()  # started or paused elsewhere (the sidebar): rerun so the timers follow

    @st.fragment(run_every=REFRESH_S if holder.running else None)
    def live_sweep() -> None:
        snap = _snapshot("sweep")
        if snap is None:
            return
        if snap.current_k is not None:
            st.markdown(t("race.sweep_progress", done=len(snap.done), total=len(snap.ks), k=snap.current_k,
                          steps=f"{snap.current_steps:,}", budget=f"{snap.budget:,}"))
        elif len(snap.done) == len(snap.ks):
            st.markdown(t("race.sweep_done", total=len(snap.ks)))
        if snap.error:
            alert("error", t("race.error", error=message(snap.error)), snap.error)
        st.plotly_chart(figures.sweep_figure(snap.done, snap.budget, CHANCE), key="race_sweep", theme=None)
        if snap.done:
            last = snap.done[max(snap.done)]
            st.subheader(f"k = {max(snap.done)}: " + verdict(last))
        if get_race_holder().running != drawn_running:
            st.rerun()  # finished, or paused elsewhere: rerun so the timers and buttons follow

    if mode == "race":
        live_race()
    else:
        live_sweep()
    st.caption(t("race.fair"))  # under the charts: they come first on a 1280x720 screen
    if est is not None:  # at the bottom too: the charts stay on the first screen
        st.caption(t("limits.race_estimate", cost=est.describe(), limits=describe_budget()))
