"""Browser: the README's two replicas behind nginx (deploy/nginx.conf), on one machine.

A real nginx (Debian's package; run in the foreground with its own prefix, pid and logs in a temporary
folder, on a free port: the machine's own nginx service is never touched) in front of two `streamlit run
app.py` replicas that share a real redis-server. Checked in Chromium through nginx: the app loads and trains
(its WebSocket passes the proxy), every request of a browser reaches the same replica (the affinity cookie),
and a run shared by a browser on one replica is watched live by a browser on the other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port, running_server
from test_browser_train import TIMEOUT_MS, no_exception, shot, sidebar_button, sidebar_step, wait_idle, wait_step_above

pytestmark = pytest.mark.browser

LONG_MS = 120_000  # two servers, their worker processes and a browser share a loaded machine
COOKIE = "charviz_replica"
REPLICA = "x-charviz-replica"  # the response header deploy/nginx.conf adds: which replica answered


def nginx_exe() -> str:
    exe = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if exe is None:
        if os.environ.get("CHARVIZ_REQUIRE_BROWSER") == "1":  # CI installs it (.ci/run)
            pytest.fail("nginx is not installed")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return exe


def config_for(listen: int, a: int, b: int) -> str:
    """deploy/nginx.conf with this test's ports (each replaced exactly once: the file's shape is checked)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (("listen 8080;", f"listen 127.0.0.1:{listen};"),
                     ("server 127.0.0.1:8501 ", f"server 127.0.0.1:{a} "),
                     ("server 127.0.0.1:8502 ", f"server 127.0.0.1:{b} ")):
        assert text.count(old) == 1, f"deploy/nginx.conf should contain {old!r} once"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx in the foreground (daemon off) with everything it writes under `prefix`."""

    def __init__(self, prefix: Path, a: int, b: int):
        (prefix / "logs").mkdir(parents=True)
        self.port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(config_for(self.port, a, b))
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(prefix / "stderr.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([nginx_exe(), "-p", f"{prefix}/", "-e", "stderr", "-c", str(conf),
                                      "-g", "daemon off;"], stdout=self.log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while self.get("/_stcore/health")[0] != 200:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited: {(prefix / 'stderr.log').read_text()}")
            if time.monotonic() - t0 > 60:
                raise AssertionError("nginx did not answer within 60 s")
            time.sleep(0.1)

    def get(self, path: str, cookie: str | None = None) -> tuple[int, dict]:
        req = urllib.request.Request(self.url + path, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}
        except OSError:
            return 0, {}

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def sidebar(page):
    return page.locator("[data-testid='stSidebar']")


def test_two_replicas_behind_nginx_load_train_and_share_a_run(browser, tmp_path):
    from test_redis_share import RedisServer

    redis = RedisServer()
    env = {"CHARVIZ_REDIS_URL": redis.url, "CHARVIZ_TRAINING": "process"}  # (what a class should run)
    proxy = None
    try:
        with running_server("streamlit-replica-a.log", env) as url_a, \
                running_server("streamlit-replica-b.log", env) as url_b:
            replica_a, replica_b = url_a.removeprefix("http://"), url_b.removeprefix("http://")
            proxy = Nginx(tmp_path / "nginx", int(url_a.rsplit(":", 1)[1]), int(url_b.rsplit(":", 1)[1]))
            # a browser without the cookie is given one, and with it always reaches the same replica
            status, headers = proxy.get("/")
            assert status == 200 and headers[REPLICA] in (replica_a, replica_b)
            key = headers["set-cookie"].split(";")[0].split("=", 1)[1]
            assert key and all(proxy.get("/", key)[1][REPLICA] == headers[REPLICA] for _ in range(5))
            # one affinity key for each replica (found by asking nginx), so that the two browsers below are
            # served by different replicas
            keys: dict[str, str] = {}
            for i in range(200):
                keys.setdefault(proxy.get("/_stcore/health", f"k{i}")[1][REPLICA], f"k{i}")
                if len(keys) == 2:
                    break
            assert set(keys) == {replica_a, replica_b}, keys
            _share_on_a_and_watch_on_b(browser, proxy.url, keys[replica_a], keys[replica_b], replica_a, replica_b)
    finally:
        if proxy is not None:
            proxy.stop()
        redis.stop()


def _share_on_a_and_watch_on_b(browser, url: str, key_a: str, key_b: str, replica_a: str, replica_b: str):
    contexts = []
    try:
        pages = []
        for key in (key_a, key_b):
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            ctx.add_cookies([{"name": COOKIE, "value": key, "url": url}])
            contexts.append(ctx)
            pages.append(ctx.new_page())
        owner, student = pages
        resp = owner.goto(url + "/train", timeout=LONG_MS)
        assert resp.headers[REPLICA] == replica_a
        wait_idle(owner)
        no_exception(owner)
        sidebar_button(owner, "Start").click()  # the app loads and trains through the proxy (its WebSocket)
        wait_step_above(owner, 3, LONG_MS)
        sidebar(owner).get_by_role("button", name="Share with the class").click()
        code_box = sidebar(owner).locator("[data-testid='stCode'] code")
        code_box.wait_for(timeout=LONG_MS)
        code = code_box.inner_text().strip()
        shot(owner, "nginx-owner")

        resp = student.goto(f"{url}/train?watch={code}", timeout=LONG_MS)
        assert resp.headers[REPLICA] == replica_b  # the other replica: it follows the run through Redis
        sidebar(student).get_by_text(f"Watching {code}").wait_for(timeout=LONG_MS)
        wait_idle(student)
        s0 = sidebar_step(student)
        wait_step_above(student, s0 + 3, LONG_MS)  # live
        assert sidebar_button(student, "Pause").is_disabled()
        student.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=TIMEOUT_MS)
        shot(student, "nginx-student")
        no_exception(student)
        sidebar_button(owner, "Pause").click()  # the owner's Pause reaches the student on the other replica
        sidebar(student).get_by_text("paused").first.wait_for(timeout=LONG_MS)
        wait_idle(owner)
        n = sidebar_step(owner)
        student.wait_for_function(  # ... and it sees the very step the owner paused at
            """n => [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stMetric"]')]
                     .some(m => m.innerText.startsWith('step') && parseInt(m.querySelector(
                         '[data-testid="stMetricValue"]').innerText.replace(/,/g, '')) === n)""",
            arg=n, timeout=LONG_MS)
        no_exception(owner)
        no_exception(student)
    finally:
        for ctx in contexts:
            ctx.close()
