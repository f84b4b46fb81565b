"""Screenshots of the Predict and hello pages: `python scripts/screenshots_predict.py [--out docs] [--seconds 60]`.

docs/predict.png  the Predict page while an RNN trains on Python source (prefix typed with \\n escapes)
docs/hello.png    the hello page after pressing Start, once the predictions are e, l, l, o
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from screenshots import app_page  # noqa: E402

PREFIX_INPUT = "input[aria-label='Prefix: type, and the prediction follows']"
PREFIX = "import os\\nimport sys\\n\\ndef main(args):\\n    return "


def wait_idle(page, ms: int = 600) -> None:
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(ms)


def nav_link(page, title: str):
    """app.py's sidebar link (case-sensitive: the bare pages/ listing shown before app.py has run is lower case)."""
    return page.locator("[data-testid='stSidebarNav'] a").filter(has_text=re.compile(title + "$"))


def open_page(page, url: str, title: str) -> None:
    """Load the app at its root and wait for app.py's own navigation (until the entry script has run once,
    Streamlit serves pages/*.py on their own), then open a page by its sidebar link."""
    page.goto(url)
    nav_link(page, "Predict").wait_for(timeout=60_000)
    nav_link(page, title).click()
    wait_idle(page)


def scroll_main(page, y: int) -> None:
    page.evaluate(f"""() => {{ for (const sel of ['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]'])
                              {{ const el = document.querySelector(sel); if (el) el.scrollTo(0, {y}); }} }}""")
    page.wait_for_timeout(400)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--seconds", type=float, default=60.0, help="training time before the Predict shot")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with app_page(out / "screenshots-predict-server.log") as (page, url):  # 1280x720
        open_page(page, url, "Hello")
        page.locator(".st-key-hello_train button").click()  # Start
        page.get_by_text("4 of 4").wait_for(timeout=300_000)
        page.locator(".st-key-hello_train button").click()  # Pause
        wait_idle(page, 1500)
        page.evaluate("() => document.querySelector('[data-testid=\"stPlotlyChart\"]').scrollIntoView()")
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "hello.png"))

        page.goto(f"{url}/train?text=python")  # a new session on Python source (a demo link)
        wait_idle(page, 1500)
        page.locator("[data-testid='stSidebar'] [data-testid='stMetric']").first.wait_for(timeout=60_000)
        page.locator(".st-key-sb_start_pause button").click()
        time.sleep(args.seconds)
        nav_link(page, "Predict").click()
        page.wait_for_selector(PREFIX_INPUT, timeout=60_000)
        page.locator(PREFIX_INPUT).fill(PREFIX)
        page.locator(PREFIX_INPUT).press("Enter")
        page.locator("[data-testid='stSlider']").filter(has_text="top k").get_by_role("slider").focus()
        page.wait_for_timeout(3000)
        page.screenshot(path=str(out / "predict.png"))  # the first screen, as a class sees it
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
