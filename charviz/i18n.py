"""Every string a user reads, in English and Korean: one catalogue per language, looked up by key.

A catalogue is the folder `charviz/locales/<lang>/`: one TOML file per page or subject, whose keys are
prefixed with the file's name (`hidden.toml`'s `title` is `hidden.title`). Both languages have the same
keys and the same {placeholders} (tests/test_i18n.py checks it). `t(key, **kw)` formats the string in the
current language; the current language comes from a resolver that charviz.ui installs (the browser
session's choice), so the library (figures included) stays free of streamlit and a notebook gets English.
"""

from __future__ import annotations

import functools
import string
import tomllib
from collections.abc import Callable
from pathlib import Path

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = "en"

_resolver: Callable[[], str] = lambda: DEFAULT_LANGUAGE  # noqa: E731


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """All strings of one language: {"section.key": text}, read once from locales/<lang>/*.toml."""
    out: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.toml")):
        with path.open("rb") as f:
            _flatten(path.stem, tomllib.load(f), out)
    return out


def placeholders(text: str) -> set[str]:
    """The {names} a catalogue string expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def set_language_resolver(resolver: Callable[[], str]) -> None:
    """Install the function that says which language the current user reads (charviz.ui does this)."""
    global _resolver
    _resolver = resolver


def current_language() -> str:
    try:
        lang = _resolver()
    except Exception:  # outside a browser session (a training thread, a notebook): the default
        return DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = None, **kw) -> str:
    """The text for `key` in `lang` (default: the current language), with {placeholders} filled from kw.

    A key missing from a language falls back to English, then to the key itself (never an exception on a
    page; the tests make sure no key is missing).
    """
    lang = lang or current_language()
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**kw) if kw else text
