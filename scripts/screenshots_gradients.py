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

from screenshots import app_page, sidebar_button, to_top, wait_idle  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    out = Path(args.out)
    with app_page(out / "screenshots-gradients-server.log") as (page, url):
        page.goto(f"{url}/train?text=python")  # a demo link: Python source
        wait_idle(page, 1500)
        sidebar_button(page, "Start").click()
        time.sleep(args.seconds)
        sidebar_button(page, "Pause").click()
        wait_idle(page, 1000)
        page.get_by_role("link", name="Gradients").click()
        wait_idle(page, 2000)
        to_top(page)
        page.screenshot(path=str(out / "gradients-scalar.png"))
        page.evaluate("""() => { const el = document.querySelectorAll('[data-testid="stPlotlyChart"]')[1];
                                 el.scrollIntoView();  // the live flow, with the numbers over it
                                 document.querySelector('[data-testid="stMain"]').scrollBy(0, -150); }""")
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "gradients.png"))
        assert page.locator("[data-testid='stException']").count() == 0
    (out / "screenshots-gradients-server.log").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
