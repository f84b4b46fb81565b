"""How large this user's figure text is (projector mode). Torch-free and streamlit-free, like charviz.i18n:
charviz.ui.projector installs the resolver, charviz.figures.style reads it when it builds a figure."""

from __future__ import annotations

from collections.abc import Callable

_font_scale: Callable[[], float] = lambda: 1.0  # noqa: E731


def set_font_scale_resolver(resolver: Callable[[], float]) -> None:
    """Install the function that says how much larger this user's figure text is (1: as designed)."""
    global _font_scale
    _font_scale = resolver


def font_scale() -> float:
    try:
        return float(_font_scale())
    except Exception:  # outside a browser session (a notebook, a thread): as designed
        return 1.0
