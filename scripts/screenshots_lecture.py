"""Take the README's "Teaching with charviz" screenshots at 1280x720 (a lecture hall's projector):

    python scripts/screenshots_lecture.py [--out docs] [--seconds 20]

docs/lecture-ko.png         the Lecture page in Korean, chapter 1 set up and trained for a while
docs/lecture-projector.png  projector mode: chapter 6 (vanishing and exploding gradients), set up and training
"""

from __future__ import annotations

import argparse
from pathlib import Path

from screenshots import ROOT, app_page, wait_idle  # noqa: I001  (scripts/ is on sys.path when run from there)

W, H = 1280, 720


def set_up_and_wait(page, chapter: int, seconds: float) -> None:
    page.locator(f".st-key-lecture_setup_{chapter} button").first.click()
    page.mouse.move(640, 700)  # no tooltip over the page
    page.wait_for_timeout(seconds * 1000)  # a screenshot, not a test: let the class watch it train a while
    wait_idle(page)
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"] h2').scrollIntoView()")  # chapter on top


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    with app_page(ROOT / "test-artifacts" / "screenshots-lecture.log", W, H) as (page, url):
        page.goto(f"{url}/lecture?chapter=1&lang=ko", timeout=60_000)
        wait_idle(page, 1500)
        set_up_and_wait(page, 1, args.seconds)
        page.screenshot(path=str(out / "lecture-ko.png"))
        page.goto(f"{url}/lecture?chapter=6&projector=1", timeout=60_000)
        wait_idle(page, 1500)
        set_up_and_wait(page, 6, args.seconds)
        page.screenshot(path=str(out / "lecture-projector.png"))


if __name__ == "__main__":
    main()
