"""Take docs/gradients.png: train an RNN on Python source for a while, then open the Gradients page.

    python scripts/screenshots_gradients.py [--out docs] [--seconds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from screenshots import choose, sidebar_button, to_top, wait_idle  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    out = Path(args.out)
    port = free_port()
    proc = start_server(port, out / "screenshots-gradients-server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc=proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{url}/train")
            wait_idle(page)
            choose(page, "built-in text", "python")
            wait_idle(page, 1500)
            sidebar_button(page, "Start").click()
            time.sleep(args.seconds)
            sidebar_button(page, "Pause").click()
            wait_idle(page, 1000)
            page.get_by_role("link", name="Gradients").click()
            wait_idle(page, 2000)
            to_top(page)
            page.screenshot(path=str(out / "gradients-scalar.png"))
            page.get_by_text("2 · Your model, right now").scroll_into_view_if_needed()
            page.evaluate("""() => { const el = [...document.querySelectorAll('h2')]
                                       .find(h => h.textContent.includes('Your model'));
                                     el.scrollIntoView(); }""")
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "gradients.png"))
            assert page.locator("[data-testid='stException']").count() == 0
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    (out / "screenshots-gradients-server.log").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
