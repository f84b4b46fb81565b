"""Shared runs across app servers through a real redis-server (Debian's package) on a free port.

Two ShareRegistry objects stand for two app servers' processes (A shares, B watches); the AppTest watches
through B. Redis stopping mid-lecture: B's watchers get a clear message, A's training goes on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

import pytest
import torch

from charviz.config import TrainConfig
from charviz.errors import Msg, from_plain, message, render, to_plain
from charviz.run import TrainingRun
from charviz.share import ShareEnded, ShareRegistry, ShareUnavailable
from charviz.train import Trainer
from tests.conftest import free_port

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
DEADLINE_S = 60


class RedisServer:
    def __init__(self):
        exe = shutil.which("redis-server")
        if exe is None:
            if os.environ.get("CHARVIZ_REQUIRE_BROWSER") == "1":  # CI installs it (.ci/run)
                pytest.fail("redis-server is not installed")
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), "redis-server to answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def wait_until(cond, what: str, timeout: float = DEADLINE_S) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


def training_run() -> TrainingRun:
    return TrainingRun(Trainer(TEXT, TrainConfig(hidden_size=16, seq_len=8, batch_size=4)), eval_every_s=0.2)


def step_on(reg: ShareRegistry, code: str) -> int:
    return reg.snapshot(code)[0].step


@contextlib.contextmanager
def two_servers(redis_server):
    """Registries A and B (two app servers' processes on one Redis) and a training run on A; all closed after."""
    a = ShareRegistry(grace_s=600, redis_url=redis_server.url)
    b = ShareRegistry(grace_s=600, redis_url=redis_server.url)
    run = training_run()
    run.start()
    try:
        yield a, b, run
    finally:
        run.stop()
        a.close()
        b.close()


def test_a_run_shared_on_server_a_is_watched_live_from_server_b(redis_server):
    with two_servers(redis_server) as (a, b, run):
        # the label as the owner's session sends it (charviz.ui.classroom._meta): key and parameters, plain data
        label = to_plain(Msg("settings.source_upload", name="poem.txt"))
        code = a.share(run, {"label": label, "sample": "hello"})
        s0 = step_on(b, code)  # B has no such run: it reads A's published snapshot from Redis
        wait_until(lambda: step_on(b, code) > s0, "B to see new steps")
        snap, meta = b.snapshot(code)
        assert meta == {"label": label, "sample": "hello"} and snap.state == "running"
        # B's watchers read it in their own language
        assert render(from_plain(meta["label"]), "ko") == "올린 파일: poem.txt"
        assert render(from_plain(meta["label"]), "en") == "upload: poem.txt"
        run.pause()
        n = run.trainer.steps
        wait_until(lambda: b.snapshot(code)[0].state == "paused", "B to see the pause")
        snap = b.snapshot(code)[0]
        assert snap.step == n and snap.history == run.snapshot().history
        for k, v in run.trainer.model.state_dict().items():  # the watched model is the owner's, exactly
            assert torch.equal(snap.model.state_dict()[k], v)
        a.unshare(code)
        with pytest.raises(ShareEnded) as e:
            b.snapshot(code)
        assert e.value.reason == "stopped"


def test_redis_stopping_mid_lecture_tells_watchers_and_training_goes_on(redis_server):
    with two_servers(redis_server) as (a, b, run):
        code = a.share(run, {"label": "hello", "sample": "hello"})
        wait_until(lambda: step_on(b, code) > 0, "B to follow")
        redis_server.stop()
        with pytest.raises(ShareUnavailable) as e:
            b.snapshot(code)
        assert "cannot be reached" in str(e.value)
        n = run.snapshot().step
        wait_until(lambda: run.snapshot().step > n + 5 and a.redis_error != "", "training to go on")
        assert "cannot be reached" in str(a.redis_error)  # (a Msg: the owner reads it in their language)
        assert "Redis에 연결할 수 없습니다" in message(a.redis_error, "ko")
        assert a.snapshot(code)[0].step > n  # watchers on A itself still follow


def test_a_watcher_on_server_b_is_told_when_redis_stops(redis_server, monkeypatch):
    import charviz.share as share
    from tests.test_app_classroom import AppTest_with_watch, sidebar_text
    from tests.test_app_train import step

    a = ShareRegistry(grace_s=600, redis_url=redis_server.url)
    b = ShareRegistry(grace_s=600, redis_url=redis_server.url)
    monkeypatch.setattr(share, "_registry", b)  # the app under test is server B
    run = training_run()
    run.start()
    try:
        code = a.share(run, {"label": "hello", "sample": "hello"})
        wait_until(lambda: step_on(b, code) > 0, "B to follow")
        at = AppTest_with_watch(code)
        assert f"Watching **{code}**" in sidebar_text(at) and step(at) > 0
        redis_server.stop()
        at.run()
        assert not at.exception
        text = sidebar_text(at)
        assert "cannot be read right now" in text and "Redis" in text and "trying again" in text
        at.switch_page("pages/predict.py").run()  # the pages go on with the last state received
        assert not at.exception
    finally:
        run.stop()
        a.close()
        b.close()
