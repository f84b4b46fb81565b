"""charviz.figures.style.wrap measures a line by its width, not its length: a Hangul syllable is as wide as two
Latin letters, so a Korean title is broken where an English one of the same width would be."""

from charviz.figures.style import WIDE_CHAR, text_width, wrap


def test_text_width_counts_wide_characters_double():
    assert text_width("abc d") == 5
    assert text_width("그래디언트") == 5 * WIDE_CHAR
    assert text_width("nat 단위") == 4 + 2 * WIDE_CHAR


def test_wrap_breaks_korean_by_width():
    ko = "가나다 라마바 사아자 차카타"  # 12 syllables, 3 spaces: 27 Latin letters wide
    assert wrap(ko, 30) == ko
    lines = wrap(ko, 20).split("<br>")
    assert lines == ["가나다 라마바 사아자", "차카타"]  # 20 wide: "가나다 라마바 사아자" is 2*9 + 2 = 20
    assert all(text_width(line) <= 20 for line in lines)
    assert wrap("abcdefgh ijk", 20) == "abcdefgh ijk"  # Latin text of the same length stays on one line
