"""Figure text that must fit: charviz.figures.style.wrap measures a line by its width, not its length (a Hangul
syllable is as wide as two Latin letters, so a Korean title is broken where an English one of the same width would
be), and the Logits view's colour bar keeps its tick labels away from its title."""

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


def test_logit_colour_bar_ticks_stay_clear_of_its_ends():
    """The Logits view's colour bar: no tick label at the top end, where the bar's title 'logit' sits."""
    import numpy as np

    from charviz.figures.prediction import inner_ticks

    for lim in (0.05, 0.3, 1.0, 2.4, 3.05, 7.7, 10.0, 40.0):
        ticks = inner_ticks(lim)
        assert 0.0 in ticks and ticks == sorted(ticks) and ticks == [-v for v in reversed(ticks)]
        assert max(ticks) <= 0.8 * lim + 1e-12
        assert 2 <= len(ticks) // 2 <= 5  # two to five a side
        step = ticks[-1] - ticks[-2]
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert any(abs(mantissa - m) < 1e-9 for m in (1, 2, 5))  # a round step
