"""Measure the race: recall over time, throughput against the same three models trained one after another, and
the UI's click-to-effect while the race trains (in Chromium, against `streamlit run app.py`).

    python scripts/measure_race.py recall [--seconds 120] [--k 30] [--window 64] [--hidden 64] ...
    python scripts/measure_race.py throughput [--seconds 30]
    python scripts/measure_race.py ui [--clicks 15]

Every figure is printed with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _settings(a):
    from charviz.race import RaceSettings

    return RaceSettings(k=a.k, seq_len=a.window, hidden_size=a.hidden, batch_size=a.batch, lr=a.lr, clip=a.clip,
                        seed=a.seed)


def recall(a) -> None:
    """The race as the app runs it (its own thread, measured every second), for a.seconds of wall time."""
    import torch

    from charviz.race import Race, verdict

    torch.set_num_threads(1)
    race = Race(_settings(a))
    print(f"settings: {race.settings} · load {loadavg()}")
    t0 = time.monotonic()
    race.start()
    ev = threading.Event()
    while time.monotonic() - t0 < a.seconds:
        ev.wait(min(10.0, a.seconds - (time.monotonic() - t0)))
        s = race.snapshot()
        rec = {c: f"{v:.0%}" for c, v in s.latest_recall().items()}
        print(f"{time.monotonic() - t0:5.0f} s · step {s.steps:5,} · recall {rec} · load {loadavg()}", flush=True)
    race.pause()
    s = race.snapshot()
    race.stop()
    print(f"after {a.seconds:.0f} s: {verdict(s.latest_recall())} · {s.steps:,} steps each · "
          f"{s.chars_per_sec:,.0f} chars/s (three models) · load {loadavg()}")


def throughput(a) -> None:
    """Race in its thread (with its measurements) vs the same three Trainers stepped one after another."""
    import torch

    from charviz.race import CELLS, Race
    from charviz.train import Trainer

    torch.set_num_threads(1)
    s = _settings(a)
    race = Race(s)
    for tr in race.trainers.values():  # warm-up: first optimizer, first steps
        tr.step()
    print(f"load before: {loadavg()}")
    t0 = time.perf_counter()
    race.start()
    threading.Event().wait(a.seconds)
    race.pause()
    wall = time.perf_counter() - t0
    rounds = race.steps
    race.stop()
    chars = rounds * len(CELLS) * s.batch_size * s.seq_len
    race_cps = chars / wall
    print(f"race: {rounds:,} rounds in {wall:.1f} s = {race_cps:,.0f} chars/s (measurements included) "
          f"· load {loadavg()}")
    text = s.text()
    seq_time = 0.0
    for c in CELLS:
        tr = Trainer(text, s.config(c))
        tr.step()
        t0 = time.perf_counter()
        for _ in range(rounds):
            tr.step()
        seq_time += time.perf_counter() - t0
    seq_cps = chars / seq_time
    print(f"one after another: {rounds:,} steps each in {seq_time:.1f} s = {seq_cps:,.0f} chars/s · load {loadavg()}")
    print(f"race / one after another: {race_cps / seq_cps:.2f}x")


def ui(a) -> None:
    """Click-to-effect on the Race page (switch the mode and back: a full script run each) with the main model
    training, then with the race training."""
    import re

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, running_server  # the tests' server: free port, health, stop

    with running_server("measure_race_server.log") as url:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pg = b.new_page(viewport={"width": 1280, "height": 720})
            pg.goto(url)
            link = pg.locator("[data-testid='stSidebarNav'] a").filter(has_text=re.compile("Race$"))
            link.wait_for(timeout=60_000)
            link.click()
            pg.locator(".st-key-race_start_pause button").wait_for(timeout=60_000)

            def clicks(n: int) -> list[float]:
                out = []
                for i in range(n):
                    target = "distance sweep" if i % 2 == 0 else "race at one distance k"
                    expect = ".st-key-race_sweep_ks" if i % 2 == 0 else ".st-key-race_step"
                    t0 = time.perf_counter()
                    pg.locator(".st-key-race_mode button").filter(has_text=target).click()
                    pg.locator(expect).wait_for(timeout=30_000)
                    out.append((time.perf_counter() - t0) * 1000)
                    pg.wait_for_timeout(300)
                return out

            pg.locator(".st-key-sb_start_pause button").click()  # the main model trains
            pg.wait_for_timeout(3000)
            one = clicks(a.clicks + a.clicks % 2)  # even: ends in race mode
            print(f"main model training: click to effect median {statistics.median(one):.0f} ms, "
                  f"max {max(one):.0f} ms · load {loadavg()}")
            pg.locator(".st-key-race_start_pause button").click()  # the race trains (the main model pauses)
            pg.get_by_text("for each model").first.wait_for(timeout=60_000)
            pg.wait_for_timeout(3000)
            three = clicks(a.clicks + a.clicks % 2)
            print(f"race training: click to effect median {statistics.median(three):.0f} ms, "
                  f"max {max(three):.0f} ms · load {loadavg()}")
            t0 = time.perf_counter()
            pg.locator(".st-key-race_start_pause button").click()  # Pause
            pg.locator(".st-key-race_start_pause button").filter(has_text="Resume").wait_for(timeout=30_000)
            print(f"race Pause click to paused: {(time.perf_counter() - t0) * 1000:.0f} ms · load {loadavg()}")
            b.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["recall", "throughput", "ui"])
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--clicks", type=int, default=15)
    from charviz.race import RaceSettings

    d = RaceSettings()
    p.add_argument("--k", type=int, default=d.k)
    p.add_argument("--window", type=int, default=d.seq_len)
    p.add_argument("--hidden", type=int, default=d.hidden_size)
    p.add_argument("--batch", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--clip", type=float, default=d.clip)
    p.add_argument("--seed", type=int, default=d.seed)
    a = p.parse_args()
    {"recall": recall, "throughput": throughput, "ui": ui}[a.what](a)


if __name__ == "__main__":
    main()
