"""charviz.escape: user text shows literally in Markdown (CommonMark, as Streamlit renders it) and in plotly."""

import html
import string

import pytest

from charviz.escape import INLINE, ZWSP, md, plotly_text

HOSTILE = ["[x](javascript:alert(1))", "![x](http://example.com/a.png)", "a\\b", "**bold** _it_ `code`",
           "<b>hi</b>", ":material/home: :red[alarm]", "# heading", "1. item", "$x^2$", "~~gone~~", "a|b|c"]


def unescape_commonmark(s: str) -> str:
    """What a CommonMark renderer shows for text made only of escaped punctuation and plain characters."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in string.punctuation:
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escape_shows_the_text_itself(text):
    out = md(text)
    # every character that can start Markdown is escaped, and so is a line's first one if it can start a block
    i = 0
    while i < len(out):
        if out[i] in INLINE:
            assert out[i] == "\\" and out[i + 1] in string.punctuation, (text, out, i)
            i += 2
        else:
            i += 1
    assert out[0] not in "#+-=>" and not (out[0].isdigit() and out[1] in ".)")
    assert unescape_commonmark(out).replace(ZWSP, "") == text


def test_markdown_escape_breaks_streamlit_shortcodes():
    out = unescape_commonmark(md(":material/home: :red[x]"))
    assert ":material" not in out and ":red[" not in out


def test_plotly_text_escapes_markup():
    assert plotly_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert html.unescape(plotly_text("<a href='j'>")) == "<a href='j'>"
