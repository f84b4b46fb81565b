"""Bold text in the catalogues renders as bold in both languages: every `**` opens or closes a span under
CommonMark's flanking rules. Korean attaches particles right after a word (**시간 역전파(BPTT)**입니다): a
closing `**` after punctuation and before a letter does not close, and the page shows the asterisks."""

import re
import unicodedata

from charviz import i18n


def _punct(c: str) -> bool:
    return c != "" and unicodedata.category(c)[0] in "PS"


def _space(c: str) -> bool:
    return c == "" or c.isspace()


def unpaired_bold(text: str) -> list[str]:
    """The `**` of `text` (code spans and placeholders left out) that cannot open or close where they pair."""
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\{[a-z0-9_]*(:[^}]*)?\}", "x", text)  # a placeholder: a word
    bad = []
    for j, m in enumerate(re.finditer(r"\*\*", text)):
        i = m.start()
        before, after = text[i - 1 : i], text[i + 2 : i + 3]
        opens = not _space(after) and (not _punct(after) or _space(before) or _punct(before))
        closes = not _space(before) and (not _punct(before) or _space(after) or _punct(after))
        if not (opens if j % 2 == 0 else closes):
            bad.append(text[max(0, i - 20) : i + 22])
    return bad


def test_every_bold_span_opens_and_closes_in_both_languages():
    found = {(lang, key): unpaired_bold(text) for lang in i18n.LANGUAGES
             for key, text in i18n.catalogue(lang).items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_check_sees_a_span_that_does_not_close():
    assert unpaired_bold("학습은 **시간 역전파(BPTT)**입니다") != []
    assert unpaired_bold("학습은 **시간 역전파**(BPTT)입니다") == []
    assert unpaired_bold("the **loss** (bits)") == []
