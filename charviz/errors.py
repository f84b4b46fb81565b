"""Errors the library raises for a user to read, by catalogue key, so that the UI shows them in the user's language.

    raise TextError("errors.text_short", n=3)        # catalogue: charviz/locales/{en,ko}/errors.toml
    ...
    except TextError as e:
        st.error(message(e))                         # in the session's language (charviz.i18n)

A `KeyedError` holds `.key` and `.params`; `str(e)` is the English text (logs, notebooks, tests); `e.render(lang)`
is the text in `lang` (default: the current language). A parameter may itself be a `Msg` or a keyed error
(rendered in the same language), or a list of them (joined with the language's "and"). A parameter named
`detail` is technical text (an exception's own English words): no catalogue sentence shows it, `details(e)` gives
it to the UI for a secondary line under the message. No streamlit here.
"""

from __future__ import annotations

from charviz.i18n import t


class Msg:
    """A message by catalogue key and parameters, rendered in any language."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params):
        self.key, self.params = key, params

    def render(self, lang: str | None = None) -> str:
        return t(self.key, lang=lang, **{k: render(v, lang) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)

    __hash__ = None  # (parameters may be lists)


def render(value, lang: str | None = None):
    """A parameter as text in `lang`: messages rendered, lists of them joined with "and"; others unchanged."""
    if isinstance(value, Msg | KeyedError):
        return value.render(lang)
    if isinstance(value, list | tuple):
        return t("errors.and", lang=lang).join(str(render(v, lang)) for v in value)
    return value


class KeyedError(ValueError):
    """A ValueError whose message is a catalogue key plus parameters (see the module docstring)."""

    def __init__(self, key: str, /, **params):
        self.msg = Msg(key, **params)
        super().__init__(key)

    @property
    def key(self) -> str:
        return self.msg.key

    @property
    def params(self) -> dict:
        return self.msg.params

    def render(self, lang: str | None = None) -> str:
        return self.msg.render(lang)

    def __reduce__(self):  # pickled (e.g. from a worker process) with its key and parameters
        return _rebuild, (type(self), self.key, self.params)

    def __str__(self) -> str:
        return self.msg.render("en")


def _rebuild(cls, key: str, params: dict) -> KeyedError:
    return cls(key, **params)


def message(e: BaseException | Msg | str, lang: str | None = None) -> str:
    """What a user reads for `e`: a keyed error or a Msg in `lang` (default: the current language), others as
    str(e) (a run's `error` is a Msg or "")."""
    return e.render(lang) if isinstance(e, KeyedError | Msg) else str(e)


def reason(e: BaseException) -> Msg:
    """Why something failed, kept for later rendering in the reader's language: a keyed error's Msg, else "an
    unexpected error" with the exception's type and text as its `detail` (Python's and torch's own messages
    exist in English only: shown apart from the sentence, see `details`)."""
    return e.msg if isinstance(e, KeyedError) else Msg("errors.unexpected", detail=f"{type(e).__name__}: {e}")


def details(value) -> list[str]:
    """The technical texts inside a message: every parameter named `detail` (Python's, torch's or a library's
    own English words), nested messages' too, in order. The catalogue's sentences never contain them: a UI shows
    them apart, as a secondary detail under the message (charviz.ui.alerts)."""
    if isinstance(value, KeyedError):
        value = value.msg
    if isinstance(value, list | tuple):
        return [d for v in value for d in details(v)]
    if not isinstance(value, Msg):
        return []
    out = []
    for k, v in value.params.items():
        if k == "detail" and not isinstance(v, Msg | KeyedError | list | tuple):
            out.append(str(v))
        else:
            out.extend(details(v))
    return out


def to_plain(value):
    """A Msg (or a text) as JSON-able data, nested messages included: {"key": ..., "params": {...}}; a str as is.
    The inverse is from_plain (a snapshot sent through Redis keeps its message renderable in any language)."""
    if isinstance(value, KeyedError):
        value = value.msg
    if isinstance(value, Msg):
        return {"key": value.key, "params": {k: to_plain(v) for k, v in value.params.items()}}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def from_plain(value):
    """to_plain's data -> the Msg (or text) again; anything else as it is."""
    if isinstance(value, dict) and isinstance(value.get("key"), str) and isinstance(value.get("params"), dict):
        return Msg(value["key"], **{str(k): from_plain(v) for k, v in value["params"].items()})
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    return value
