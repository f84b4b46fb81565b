"""Text a user typed or named (a file name, a prefix, a character), made safe to show as text.

Streamlit renders alerts, captions and markdown as Markdown (links, images, emphasis, `:material/...:` icons,
`:red[...]` colours); plotly renders a title's `<b>`, `<a>`, `<br>` ... as markup. These make such text show
literally, character for character.
"""

from __future__ import annotations

import html
import re

# characters that start Markdown (or HTML) anywhere in a line; those that do only at its start: below
INLINE = "\\`*_[]()<>!|~$&{}"
_INLINE = re.compile("([" + re.escape(INLINE) + "])")
_LINE_START = re.compile(r"(?m)^(\s*)([#+\-=>]|\d+[.)])")
_SHORTCODE = re.compile(r":(?=\S)")
ZWSP = "\u200b"


def md(text: str) -> str:
    """`text` as Markdown that shows exactly `text`: the characters that start Markdown or HTML anywhere
    (links, images, emphasis, code, tags, entities, maths) backslash-escaped, and those that start a heading
    or a list at the start of a line; newlines kept as line breaks; and a zero-width space after a colon that
    touches a word, so that Streamlit reads no `:icon:` or `:colour[...]` in it."""
    out = _INLINE.sub(r"\\\1", str(text))
    out = _LINE_START.sub(lambda m: m.group(1) + "".join("\\" + c if not c.isdigit() else c
                                                          for c in m.group(2)), out)
    out = _SHORTCODE.sub(":" + ZWSP, out)
    return out.replace("\n", "  \n")


def plotly_text(text: str) -> str:
    """`text` for a plotly title or label: <, > and & as entities (plotly would read <b>, <a> as markup)."""
    return html.escape(str(text), quote=False)
