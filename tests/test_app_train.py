"""AppTest: the entry script, the sidebar controls and the Train page (streamlit.testing, no browser).

AppTest never fires `run_every`, so a test "ticks" by calling at.run() again. The conftest empties the
resource caches between tests (all AppTest runs share one session id) and stops training threads.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch
from conftest import charts, send_widget_state, sidebar_step, start_pause
from streamlit.testing.v1 import AppTest

from charviz.checkpoint import to_bytes
from charviz.data import CORPORA, load_corpus
from charviz.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 60


def app(page: str | None = None, **query: str) -> AppTest:
    """The app as a new session opens it (with `query` as the URL's parameters), then `page`; no exception."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.sidebar.metric if m.label == label)


def step(at: AppTest) -> int:
    return int(metric(at, "step").replace(",", ""))


def state_line(at: AppTest) -> str:
    return at.sidebar.markdown[0].value


def workspace(at: AppTest):
    """The session's Workspace, as the app sees it (AppTest keeps the app's session_state)."""
    return at.session_state["charviz_workspace"]


def texts(at: AppTest) -> str:
    """Everything written on the page (markdown, captions, alerts), for `in` checks."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.value for kind in ("title", "header", "subheader") for h in getattr(at, kind)]
    parts += [a.value for kind in ("error", "warning", "info", "success") for a in getattr(at, kind)]
    return "\n".join(parts)


def wait_for_steps(at: AppTest, n: int, timeout: float = 20.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        at.run()
        if step(at) >= n:
            return step(at)
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} steps after {timeout} s (at {step(at)})")


# ---------------------------------------------------------------------------------------------------------
# every page


def pages() -> list[str]:
    """The page files app.py navigates to (those that exist)."""
    from charviz.ui.pages import available

    return [path for path, _, _ in available()]


@pytest.mark.parametrize("page", pages())
def test_every_page_runs_and_shows_the_sidebar_status(page):
    at = app(page)
    assert [m.label for m in at.sidebar.metric] == ["step", "train bits/char", "chars / s", "validation"]
    assert metric(at, "step") == "0"
    assert "ready" in state_line(at)
    at.run()  # a second run (what run_every does) also works
    assert not at.exception


def test_home_page_says_what_it_is_and_how_to_use_it():
    at = app()
    assert at.title[0].value.startswith("charviz")
    body = texts(at)
    assert "How to use it" in body and "Start" in body
    assert "hello" in body  # the session's current text


# ---------------------------------------------------------------------------------------------------------
# sidebar controls


def replay_click(at: AppTest, widget_id: str) -> None:
    """What Streamlit 1.67 does when it replays a click within the same interaction (seen in a server log: a
    Pause click's callback ran, the sidebar fragment redrew its buttons and asked for a full rerun, and the
    rerun dispatched the click again): it calls the callback that the newest drawing registered for the
    clicked widget's id, with that drawing's arguments."""
    meta = at._session_state._state._new_widget_state.widget_metadata.get(widget_id)
    if meta is not None and meta.callback is not None:
        meta.callback(*(meta.callback_args or ()), **(meta.callback_kwargs or {}))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_replayed_click_does_what_the_clicked_button_said(mode, monkeypatch):
    """The button clicked keeps its meaning after the sidebar redraws: a replay of a Pause click cannot start
    the run again, nor a replay of a Start click pause it (the lost Pause of issue 11)."""
    monkeypatch.setenv("CHARVIZ_TRAINING", mode)
    at = app()
    start = start_pause(at)
    start.click().run()
    run = workspace(at).run
    assert run.running and mode == ("process" if type(run).__name__ == "ProcessRun" else "thread")
    replay_click(at, start.id)
    assert run.running, "a replayed Start click paused the run"
    wait_for_steps(at, 1, timeout=120)  # (a worker process may start slowly on a loaded machine)
    pause = start_pause(at)
    assert pause.label == "Pause"
    pause.click().run()
    assert not run.running and start_pause(at).label == "Resume"
    replay_click(at, pause.id)
    assert not run.running, "a replayed Pause click started the run again"
    run.pause()


def test_start_pause_resume_step_and_reset_change_the_state():
    at = app()
    start_pause(at).click().run()
    assert "training" in state_line(at)
    assert start_pause(at).label == "Pause"
    n = wait_for_steps(at, 5)
    assert float(metric(at, "train bits/char")) < 2.5  # a real loss, in bits (hello: log2(4) = 2 at start)

    start_pause(at).click().run()
    assert "paused" in state_line(at)  # at once: Pause does not wait for the step in progress
    assert workspace(at).run._parked.wait(30)  # the thread finished that step and is back to waiting
    at.run()
    paused_at = step(at)
    assert paused_at >= n
    assert workspace(at).run._parked.wait(30)
    at.run()
    assert step(at) == paused_at, "a paused run must not train"
    assert start_pause(at).label == "Resume"

    sidebar_step(at).click().run()
    assert step(at) == paused_at + 1, "Step performs exactly one update"
    assert "paused" in state_line(at)

    at.button(key="sb_reset_confirm").click().run()
    assert step(at) == 0
    assert "ready" in state_line(at)
    assert workspace(at).generation == 1


def test_step_on_a_running_run_pauses_it_first():
    at = app()
    start_pause(at).click().run()
    wait_for_steps(at, 2)
    sidebar_step(at).click().run()
    assert "paused" in state_line(at)
    assert workspace(at).run._parked.wait(30)  # the step in progress and the one asked for are done
    at.run()
    s = step(at)
    assert workspace(at).run._parked.wait(30)
    at.run()
    assert step(at) == s


def test_sidebar_numbers_are_the_runs_numbers():
    at = app()
    for _ in range(3):
        sidebar_step(at).click().run()
    snap = workspace(at).run.snapshot()
    assert step(at) == snap.step == 3
    assert metric(at, "train bits/char") == f"{snap.last.bits:.3f}"
    assert metric(at, "validation") == f"{snap.val_bits:.3f}"


def test_a_reconnect_after_release_keeps_the_trained_weights():
    """on_release (tab closed, or a network blip) stops the thread; the next run revives the same trainer."""
    import streamlit as st

    at = app()
    start_pause(at).click().run()
    wait_for_steps(at, 3)
    old = workspace(at).run
    st.cache_resource.clear()  # what Streamlit does when the websocket goes away
    assert old.state == "stopped" and not old.alive
    weights = {k: v.clone() for k, v in old.trainer.model.state_dict().items()}
    at.run()
    run = workspace(at).run
    assert run is not old and run.trainer is old.trainer
    assert run.state == "idle" and step(at) == old.trainer.steps >= 3
    for k, v in run.trainer.model.state_dict().items():
        assert torch.equal(v, weights[k])
    assert len(run.history) == len(old.history)
    start_pause(at).click().run()  # and it trains on
    wait_for_steps(at, step(at) + 2)


# ---------------------------------------------------------------------------------------------------------
# Train page


def test_train_page_shows_status_line_charts_and_sample():
    at = app("pages/train.py")
    assert "not started yet" in texts(at)
    sidebar_step(at).click().run()
    sidebar_step(at).click().run()
    body = texts(at)
    assert "step 2 ·" in body and "bits/char (train)" in body
    titles = {spec["layout"]["title"]["text"] for _, spec, _ in charts(at)}
    assert {"loss", "gradient norm", "training speed"} <= titles
    assert len(at.code[0].value) == 240  # the sample
    assert set(at.code[0].value) <= set("helo")


def test_loss_chart_has_train_validation_and_uniform_guess():
    at = app("pages/train.py")
    for _ in range(3):
        sidebar_step(at).click().run()
    spec = next(spec for _, spec, _ in charts(at) if spec["layout"]["title"]["text"] == "loss")
    names = [t["name"] for t in spec["data"]]
    assert names == ["train (each step)", "train (smoothed)", "validation", "kept snapshots"]
    assert spec["layout"]["shapes"][0]["y0"] == pytest.approx(2.0)  # log2(4) for hello
    assert "log₂(4)" in spec["layout"]["annotations"][0]["text"]
    assert spec["layout"]["yaxis"]["title"]["text"] == "bits per character"


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_each_corpus_can_be_chosen(corpus):
    at = app("pages/train.py")
    at.selectbox(key="set_corpus").set_value(corpus).run()
    assert not at.exception
    ws = workspace(at)
    assert ws.source.name == corpus
    vocab = len(ws.run.trainer.vocab)
    assert f"vocabulary of {vocab} characters" in texts(at)
    if corpus == "long-range":
        assert ws.source.k == 8 and "k=8" in ws.source.label
        at.number_input(key="set_k").set_value(3).run()
        assert workspace(at).source.k == 3
        assert workspace(at).text == load_corpus("long-range", k=3) != load_corpus("long-range", k=8)
    sidebar_step(at).click().run()
    assert step(at) == 1


def test_pasted_text_trains_and_bad_text_gets_a_message():
    at = app("pages/train.py")
    at.radio(key="set_kind").set_value("pasted").run()
    assert not at.exception
    at.text_area(key="set_paste").input("").run()
    assert not at.exception
    # empty text: nothing to apply, no message needed until they type; one repeated character: a message
    at.text_area(key="set_paste").input("aaaaaaaa").run()
    assert not at.exception
    assert any("only one distinct character" in e.value for e in at.error)
    assert workspace(at).source.name == "hello"  # the model was left alone
    at.text_area(key="set_paste").input("a").run()
    assert any("one distinct character" in e.value or "too short" in e.value for e in at.error)
    at.text_area(key="set_paste").input("the cat sat on the mat. " * 20).run()
    assert not at.error
    ws = workspace(at)
    assert ws.source.kind == "pasted" and ws.text.startswith("the cat")
    assert "".join(ws.run.trainer.vocab.itos) == " .acehmnost"


def test_empty_pasted_text_gets_a_message():
    at = app("pages/train.py")
    at.radio(key="set_kind").set_value("pasted").run()
    at.text_area(key="set_paste").input("x y").run()
    at.text_area(key="set_paste").input("").run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_uploads_bad_and_good():
    at = app("pages/train.py")
    at.radio(key="set_kind").set_value("upload").run()
    at.file_uploader(key="set_upload").upload("latin1.txt", "café crème".encode("latin-1"), "text/plain").run()
    assert not at.exception
    assert any("not UTF-8" in e.value for e in at.error)
    at.file_uploader(key="set_upload").upload("empty.txt", b"", "text/plain").run()
    assert any("empty" in e.value for e in at.error)
    at.file_uploader(key="set_upload").upload("same.txt", b"zzzzzz", "text/plain").run()
    assert any("one distinct character" in e.value for e in at.error)
    assert workspace(at).source.name == "hello"
    at.file_uploader(key="set_upload").upload("poem.txt", b"roses are red\nviolets are blue\n", "text/plain").run()
    assert not at.error and not at.exception
    assert workspace(at).source.label == "upload: poem.txt"


def test_shape_change_on_a_trained_model_asks_before_resetting():
    at = app("pages/train.py")
    sidebar_step(at).click().run()
    sidebar_step(at).click().run()
    run = workspace(at).run
    at.select_slider(key="set_hidden").set_value(32).run()
    assert workspace(at).run is run and step(at) == 2, "a trained model is never thrown away silently"
    warning = " ".join(w.value for w in at.warning)
    assert "hidden size" in warning and "2 steps" in warning
    at.button(key="apply_undo").click().run()
    assert at.select_slider(key="set_hidden").value == 128 and not at.warning
    at.select_slider(key="set_hidden").set_value(32).run()
    at.selectbox(key="set_cell").set_value("gru").run()
    assert "cell" in " ".join(w.value for w in at.warning)
    at.button(key="apply_reset").click().run()
    ws = workspace(at)
    assert ws.run is not run and step(at) == 0
    assert (ws.config.cell, ws.config.hidden_size) == ("gru", 32)
    assert not run.alive


def test_shape_change_before_training_applies_at_once():
    at = app("pages/train.py")
    at.number_input(key="set_seq_len").set_value(8).run()
    assert not at.warning
    assert workspace(at).config.seq_len == 8


def test_learning_rate_clip_and_carry_apply_live_without_reset():
    at = app("pages/train.py")
    sidebar_step(at).click().run()
    run = workspace(at).run
    at.select_slider(key="set_lr").set_value(0.02).run()
    at.toggle(key="set_clip_on").set_value(False).run()
    at.toggle(key="set_carry").set_value(False).run()
    assert workspace(at).run is run and step(at) == 1 and not at.warning
    cfg = run.trainer.config
    assert cfg.lr == 0.02 and all(g["lr"] == 0.02 for g in run.trainer.optimizer.param_groups)
    assert cfg.clip is None and cfg.carry_hidden is False
    at.toggle(key="set_clip_on").set_value(True).run()
    at.select_slider(key="set_clip").set_value(1.0).run()
    assert run.trainer.config.clip == 1.0
    sidebar_step(at).click().run()
    assert workspace(at).run.last.lr == 0.02


def test_non_finite_loss_pauses_and_explains():
    at = app("pages/train.py")
    start_pause(at).click().run()
    wait_for_steps(at, 2)
    run = workspace(at).run
    model = run.trainer.model
    real_forward = model.forward

    def overflowing_forward(*args, **kwargs):  # what lr = 1e6 does, sooner or later: the loss overflows
        logits, loss, h = real_forward(*args, **kwargs)
        return logits, (loss * math.inf if loss is not None else None), h  # (evaluate() passes no targets)

    with run.lock:
        model.forward = overflowing_forward
        before = {k: v.clone() for k, v in model.state_dict().items()}
    t0 = time.monotonic()
    while run.state == "running" and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    model.forward = real_forward
    at.run()
    assert not at.exception
    assert "paused" in state_line(at)
    for k, v in model.state_dict().items():  # the refused step left the weights as they were
        assert torch.equal(v, before[k])
    errors = " ".join(e.value for e in at.error)
    assert "Training paused itself" in errors and "not finite" in errors
    assert "clipping" in texts(at) and "smaller learning rate" in texts(at)


def _diverge(run, max_steps: int = 300) -> None:
    """Train a paused run with step_once until the guard says it diverges (Adam at lr 10), bounded by steps."""
    for _ in range(100):
        run.step_once()
    run.set_lr(10.0)
    for _ in range(max_steps):
        run.step_once()
        if run.snapshot().diverging_bits is not None:
            return
    raise AssertionError(f"no divergence after {max_steps} steps at lr 10")


def test_diverging_loss_is_explained_on_every_page_and_restore_brings_the_good_weights_back():
    at = app("pages/train.py")
    run = workspace(at).run
    _diverge(run)
    good = run.guard.good
    assert good is not None and good.step <= 100  # from before the learning rate went up
    for page in pages():
        at.switch_page(page).run()
        side = " ".join(w.value for w in at.sidebar.warning)
        assert "Diverging" in side and "bits/char" in side, page
        assert at.sidebar.button(key="sb_restore").label == f"Restore the last good weights (step {good.step:,})"
    at.switch_page("pages/train.py").run()
    warning = " ".join(w.value for w in at.main.warning)
    assert "diverging" in warning and f"{run.snapshot().diverging_bits:,.1f} bits/char" in warning
    at.button(key="train_restore").click().run()
    assert not at.exception
    snap = run.snapshot()
    assert snap.diverging_bits is None and snap.state != "running"
    for k, v in snap.model.state_dict().items():
        torch.testing.assert_close(v, good.model[k], rtol=0, atol=0)
    assert not at.sidebar.warning
    assert any(f"Restored the weights of step {good.step:,}" in s.value for s in at.sidebar.success)


def test_checkpoint_upload_continues_a_model_and_rejects_garbage():
    at = app("pages/train.py")
    trainer = Trainer("hello" * 200, TrainConfig(hidden_size=16, cell="lstm"))
    for _ in range(3):
        trainer.step()
    at.file_uploader(key="ckpt_upload").upload("bad.pt", b"this is not a checkpoint").run()
    at.button(key="ckpt_load").click().run()
    assert not at.exception
    assert any("Cannot load bad.pt" in e.value for e in at.error)
    assert step(at) == 0
    at.file_uploader(key="ckpt_upload").upload("good.pt", to_bytes(trainer)).run()
    at.button(key="ckpt_load").click().run()
    assert not at.exception and not at.error
    ws = workspace(at)
    assert (ws.config.cell, ws.config.hidden_size, ws.run.trainer.steps) == ("lstm", 16, 3)
    assert at.selectbox(key="set_cell").value == "lstm" and at.select_slider(key="set_hidden").value == 16
    assert not at.warning  # the widgets now show the loaded model: no reset pending
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(ws.run.trainer.model.state_dict()[k], v)
    sidebar_step(at).click().run()
    assert step(at) == 4


def test_checkpoint_whose_vocabulary_misses_the_text_is_refused():
    at = app("pages/train.py")
    trainer = Trainer("abcabcabc" * 10, TrainConfig(hidden_size=8))
    at.file_uploader(key="ckpt_upload").upload("abc.pt", to_bytes(trainer)).run()
    at.button(key="ckpt_load").click().run()
    assert any("never seen" in e.value for e in at.error)
    assert workspace(at).config.hidden_size == 128


def test_every_page_file_is_in_the_one_page_list():
    """charviz/ui/pages.py is the only page list: app.py navigates it, Home links to it. A page file missing
    from it would be unreachable."""
    from charviz.ui.pages import PAGES

    listed = {path for path, _, _ in PAGES}
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py")}
    assert files <= listed


def test_every_page_file_is_thin():
    """The page convention (README): pages/<name>.py calls the pages/-mode guard and its charviz.ui module;
    the widgets, layout and fragments live in charviz/ui/<name>.py, the numbers in charviz."""
    import ast

    for path in sorted((ROOT / "pages").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        code = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        imports = [n for n in code if isinstance(n, ast.ImportFrom)]
        assert all(n.module.startswith("charviz.ui.") for n in imports), path.name
        assert len(code) - len(imports) <= 6, f"{path.name}: move its widgets to charviz/ui/{path.stem}.py"


def test_checkpoint_file_name_names_a_step_only_when_it_cannot_change_before_the_click():
    from charviz.ui.checkpoints import checkpoint_file_name

    assert checkpoint_file_name("rnn", 128, 465, running=False) == "charviz-rnn128-step465.pt"
    assert checkpoint_file_name("rnn", 128, 9, running=True) == "charviz-rnn128.pt"  # the step 9 vs 465


def test_a_step_click_delivered_twice_trains_one_step():
    """A Step click delivered again within the same interaction (tests/conftest.py send_widget_state) trains
    one step, not two: the button is keyed by the Step clicks made so far, so the replayed one names no button
    of the newest drawing (with one key, the replay called the newest drawing's callback: a second step)."""
    at = app()
    button = sidebar_step(at)
    button.click().run()
    assert workspace(at).run.wait_settled(30)
    send_widget_state(at, button.id, trigger_value=True)
    assert not at.exception, [e.value for e in at.exception]
    assert workspace(at).run.wait_settled(30)
    at.run()
    assert step(at) == 1 == workspace(at).run.trainer.steps, "one Step click, one step"
    sidebar_step(at).click().run()  # and the next click is a step of its own
    assert workspace(at).run.wait_settled(30)
    at.run()
    assert step(at) == 2
