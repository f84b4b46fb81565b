"""This browser session's race (or distance sweep): made on demand, stopped when the tab goes away.

The session trains one thing at a time: starting the race pauses the main run, and the sidebar's Start (or
Step) pauses the race (`pause_race()`). Like the Workspace, the holder is a session-scoped resource (its
on_release stops the threads) and is also kept in session_state, so a reconnect finds the same models, paused.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from charviz.race import Race, RaceSettings, Sweep

_STATE_KEY = "charviz_race"


@dataclass
class RaceHolder:
    race: Race | None = None
    sweep: Sweep | None = None

    def active(self):
        return [b for b in (self.race, self.sweep) if b is not None]

    @property
    def running(self) -> bool:
        return any(b.running for b in self.active())


def _release(holder: RaceHolder) -> None:
    for b in holder.active():
        b.stop(timeout=1.0)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_holder() -> RaceHolder:
    prev = st.session_state.get(_STATE_KEY)
    holder = prev if isinstance(prev, RaceHolder) else RaceHolder()
    for b in holder.active():
        b.revive()
    st.session_state[_STATE_KEY] = holder
    return holder


def get_race_holder() -> RaceHolder:
    return _session_holder()


def pause_race() -> None:
    """Pause the session's race and sweep, if any (called when the main run starts)."""
    holder = st.session_state.get(_STATE_KEY)
    if isinstance(holder, RaceHolder):
        for b in holder.active():
            if b.running:
                b.pause(wait=False)  # it stops after its round in progress; the click does not wait


def new_race(settings: RaceSettings) -> Race:
    """The session's new race (paused). Built before the old one stops: a refusal (BudgetError) keeps it."""
    holder = get_race_holder()
    race = Race(settings)
    if holder.race is not None:
        holder.race.stop(timeout=2.0)
    holder.race = race
    return race


def new_sweep(settings: RaceSettings, ks: list[int], budget: int) -> Sweep:
    holder = get_race_holder()
    sweep = Sweep(settings, ks, budget)  # (built first, as new_race)
    if holder.sweep is not None:
        holder.sweep.stop(timeout=2.0)
    holder.sweep = sweep
    return sweep
