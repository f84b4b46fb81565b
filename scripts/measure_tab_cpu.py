"""What one browser tab showing a page costs the browser while the run trains (a measurement, not a test).

    python scripts/measure_tab_cpu.py [--page /train] [--seconds 15]

Starts `streamlit run app.py`, opens the page in headless Chromium at 1280x720, presses Start, waits 6 s, and
prints over `--seconds`: the CPU time of all Chromium processes per second (cores), and Chrome's own counters
for the tab's main thread (Performance.getMetrics: task, script, layout and style time per second, and the
number of layouts). The load average is printed too: on a shared machine every number depends on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from measure_app import chromium_pids, cpu_seconds, wait_ready  # noqa: E402
from measure_class import start  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--page", default="/train")
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    proc = start_server(port, ROOT / "test-artifacts" / "measure-tab-cpu-server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 120, proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            page = ctx.new_page()
            page.goto(url + args.page, timeout=120_000)
            wait_ready(page)
            start(page)
            time.sleep(6)
            cdp = ctx.new_cdp_session(page)
            cdp.send("Performance.enable")

            def metrics() -> dict:
                return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

            load0 = os.getloadavg()
            pids = chromium_pids()
            c0, m0, t0 = cpu_seconds(pids), metrics(), time.monotonic()
            time.sleep(args.seconds)
            c1, m1, dt = cpu_seconds(pids), metrics(), time.monotonic() - t0
            print(f"{args.page}: Chromium {(c1 - c0) / dt:.2f} cores over {dt:.0f} s; main thread per second: "
                  + ", ".join(f"{k.removesuffix('Duration').lower()} {(m1[k] - m0[k]) / dt:.3f} s" for k in METRICS)
                  + f"; {(m1['LayoutCount'] - m0['LayoutCount']) / dt:.0f} layouts/s")
            print(f"load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    main()
