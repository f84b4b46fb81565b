"""The catalogues: both languages have the same keys and placeholders; lookups format and fall back."""

import re
from pathlib import Path

from charviz import i18n

ROOT = Path(__file__).resolve().parents[1]


def test_both_languages_have_the_same_keys():
    en, ko = i18n.catalogue("en"), i18n.catalogue("ko")
    assert en, "the English catalogue is empty"
    assert sorted(set(en) - set(ko)) == [], "keys missing in Korean"
    assert sorted(set(ko) - set(en)) == [], "keys missing in English"


def test_placeholders_agree_between_languages():
    en, ko = i18n.catalogue("en"), i18n.catalogue("ko")
    wrong = {k: (i18n.placeholders(en[k]), i18n.placeholders(ko[k])) for k in en
             if i18n.placeholders(en[k]) != i18n.placeholders(ko[k])}
    assert wrong == {}


def test_every_literal_key_used_in_the_code_exists():
    keys = set(i18n.catalogue("en"))
    used = set()
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("charviz/**/*.py"), ROOT / "app.py"]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8")))
    assert sorted(used - keys) == []


def test_every_key_a_library_error_is_raised_with_exists():
    """charviz.errors: a keyed error or message names its catalogue key as a literal (Error("errors.x", ...),
    conditional keys too); every such key exists, and every errors.* key is raised somewhere."""
    keys = set(i18n.catalogue("en"))
    used = set()
    for path in ROOT.glob("charviz/**/*.py"):
        used |= set(re.findall(r"""["'](errors\.[a-z0-9_]+)["']""", path.read_text(encoding="utf-8")))
    assert sorted(used - keys) == []
    assert sorted(k for k in keys if k.startswith("errors.") and k not in used) == []


def test_lookup_formats_follows_the_resolver_and_falls_back():
    try:
        i18n.set_language_resolver(lambda: "ko")
        assert i18n.t("common.language") == "언어"
        assert i18n.t("common.language", lang="en") == "Language"
        i18n.set_language_resolver(lambda: "xx")  # unknown language: English
        assert i18n.t("common.language") == "Language"
        i18n.set_language_resolver(lambda: 1 / 0)  # a resolver that fails (no session): English
        assert i18n.t("common.language") == "Language"
    finally:
        i18n.set_language_resolver(lambda: i18n.DEFAULT_LANGUAGE)
    assert i18n.t("no.such_key") == "no.such_key"
    assert i18n.placeholders("step {step:,} of {total}") == {"step", "total"}


def test_korean_names_the_race_one_way():
    """The Race page is 경주 in the navigation and its title; no Korean string (or comment) calls it 레이스
    (트레이스, "trace", is a different word and stays)."""
    ko = i18n.catalogue("ko")
    assert ko["nav.race"] == "경주" and ko["race.title"].startswith("경주")
    hits = [f"{path.name}:{n}: {line.strip()}"
            for path in sorted((ROOT / "charviz" / "locales" / "ko").glob("*"))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"(?<!트)레이스", line)]
    assert hits == []
