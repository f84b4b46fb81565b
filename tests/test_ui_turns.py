"""charviz.ui.classroom.turn: watchers' live redraws take turns (at most WATCHER_TURNS at once); the owner's
never wait."""

from __future__ import annotations

import threading

from charviz.ui import classroom


def test_at_most_watcher_turns_redraws_at_once_and_every_one_gets_its_turn(monkeypatch):
    monkeypatch.setattr(classroom, "watching", lambda: object())  # this session watches a shared run
    monkeypatch.setattr(classroom, "_turns", threading.BoundedSemaphore(classroom.WATCHER_TURNS))
    lock, inside, most, done = threading.Lock(), [0], [0], []
    go = threading.Event()

    @classroom.taking_turns
    def redraw(i: int) -> int:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        go.wait(30)
        with lock:
            inside[0] -= 1
        return i

    threads = [threading.Thread(target=lambda i=i: done.append(redraw(i))) for i in range(8)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(30)
    assert sorted(done) == list(range(8))  # everyone drew, and got its own result back
    assert most[0] <= classroom.WATCHER_TURNS and classroom._turns._value == classroom.WATCHER_TURNS


def test_the_owners_redraw_never_waits_for_a_turn(monkeypatch):
    monkeypatch.setattr(classroom, "_turns", threading.BoundedSemaphore(classroom.WATCHER_TURNS))
    for _ in range(classroom.WATCHER_TURNS):
        assert classroom._turns.acquire(blocking=False)  # every turn taken by watchers
    monkeypatch.setattr(classroom, "watching", lambda: None)  # this session draws its own run
    with classroom.turn():
        ran = True
    assert ran and classroom._turns._value == 0  # (it took no turn)


def test_a_redraw_interrupted_by_streamlit_gives_its_turn_back(monkeypatch):
    monkeypatch.setattr(classroom, "watching", lambda: object())
    monkeypatch.setattr(classroom, "_turns", threading.BoundedSemaphore(classroom.WATCHER_TURNS))

    @classroom.taking_turns
    def redraw():
        raise RuntimeError("st.rerun() raises to stop a script run")

    for _ in range(classroom.WATCHER_TURNS + 1):
        try:
            redraw()
        except RuntimeError:
            pass
    assert classroom._turns._value == classroom.WATCHER_TURNS
