"""Seconds until the Hello page's own model gets h->e->l->l->o right after Start, in Chromium:
`python scripts/measure_hello.py [--reps 3]`.

Opens the Hello page of a fresh `streamlit run app.py`, presses Start (the defaults: hidden size 4, the
page's first seed), and waits until the page says "4 of 4"; prints the seconds from the click, the training
steps the page shows then, and the load average before and after. New random weights between repetitions
(each repetition is another seed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from screenshots import app_page  # noqa: E402
from screenshots_predict import open_page, wait_idle  # noqa: E402


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def metric(page, label: str) -> str:
    m = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return m.locator("[data-testid='stMetricValue']").inner_text()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with app_page(ROOT / "test-artifacts" / "measure-hello-server.log") as (page, url):
        open_page(page, url, "Hello")
        for rep in range(args.reps):
            if rep:
                page.locator(".st-key-hello_reset button").click()
                wait_idle(page)
            before = loadavg()
            button = page.locator(".st-key-hello_train button")
            t0 = time.monotonic()
            button.click()
            page.get_by_text("4 of 4").wait_for(timeout=600_000)
            seconds = time.monotonic() - t0
            steps = metric(page, "training steps")
            button.click()  # Pause (New random weights, next, pauses too)
            print(f"rep {rep + 1}: 4 of 4 after {seconds:.1f} s, {steps} training steps shown "
                  f"(load average {before} -> {loadavg()})", flush=True)


if __name__ == "__main__":
    main()
