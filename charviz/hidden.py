"""Reading the memory: properties of a text, units that track them, gate saturation, the path of h_t.

The numbers behind the Hidden page. Everything here is numpy on arrays that charviz.inspect.memory_trace
returns ((T, H): one row per character of the probe text, one column per hidden unit) and on the text itself.

Text properties are computed from the text alone, one value per character, read as "the state after
reading this character": an opening quote is already inside its string (1), the closing quote is outside
again (0); an opening bracket has already raised the depth, a closing one has lowered it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from charviz.data import LONG_RANGE_FILLER, LONG_RANGE_KEYS
from charviz.errors import KeyedError, Msg

# ---------------------------------------------------------------------------------------------------------
# text properties

OPEN, CLOSE = "([{", ")]}"
VOWELS = frozenset("aeiouAEIOU")
# the properties, in the order the page lists them; 'key_pending' only for long-range task texts
FEATURES = ("in_string", "in_brackets", "bracket_depth", "line_position", "indentation", "word_start",
            "vowel", "upper", "digit", "key_pending")
MAX_REGEX = 200  # characters in a user's pattern
_LONG_RANGE_LINE = re.compile(rf"^(\.*)([{LONG_RANGE_KEYS}])[{LONG_RANGE_FILLER}]*:", re.M)


class PropertyError(KeyedError):
    """A property that cannot be computed (a bad regular expression); the message is for the user."""


def code_state(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Python-style lexing, one pass. -> (in_string (T,) 0/1, bracket_depth (T,), in_comment (T,) 0/1).

    Strings: '...' and "..." end at their closing quote or at the end of the line; '''...''' and
    \"\"\"...\"\"\" may span lines. A backslash escapes the next character inside a string (an escaped quote
    does not close it). '#' outside a string starts a comment up to the end of the line; quotes and
    brackets inside strings and comments do not count. The depth never goes below 0 (an unmatched closing
    bracket is ignored). Values are the state after reading each character.
    """
    T = len(text)
    in_string = np.zeros(T, dtype=np.float64)
    depth = np.zeros(T, dtype=np.float64)
    in_comment = np.zeros(T, dtype=np.float64)
    quote = ""  # the open string's delimiter: ', ", ''' or \"\"\"; "" outside strings
    comment = False
    d = 0
    t = 0
    while t < T:
        c = text[t]
        n = 1  # characters consumed in this step
        if comment:
            if c == "\n":
                comment = False
        elif quote:
            if c == "\\" and t + 1 < T:
                n = 2  # the escaped character belongs to the string too
            elif text.startswith(quote, t):
                n = len(quote)
                quote = ""
            elif c == "\n" and len(quote) == 1:
                quote = ""  # a one-line string ends with its line
        elif c == "#":
            comment = True
        elif c in "'\"":
            triple = c * 3
            if text.startswith(triple, t):
                quote, n = triple, 3
            else:
                quote = c
        elif c in OPEN:
            d += 1
        elif c in CLOSE:
            d = max(0, d - 1)
        for s in range(t, min(t + n, T)):
            in_string[s] = 1.0 if quote else 0.0
            depth[s] = d
            in_comment[s] = 1.0 if comment else 0.0
        t += n
    return in_string, depth, in_comment


def line_position(text: str) -> tuple[np.ndarray, np.ndarray]:
    """-> (position of each character in its line, from 0; indentation of its line: the number of leading
    spaces and tabs). A newline belongs to the line it ends."""
    T = len(text)
    pos = np.zeros(T, dtype=np.float64)
    indent = np.zeros(T, dtype=np.float64)
    start = 0
    for line in text.split("\n"):
        n = len(line) + 1  # with its newline (the last line may have none)
        stop = min(start + n, T)
        width = len(line) - len(line.lstrip(" \t"))
        pos[start:stop] = np.arange(stop - start)
        indent[start:stop] = width
        start = stop
    return pos, indent


def key_pending(text: str) -> np.ndarray | None:
    """The long-range task (charviz.data.long_range_text: lines '..KEY fillers:KEY'): 1 from the key up to
    and including the ':' (the key has been seen and must still be recalled), 0 elsewhere (padding dots,
    the recalled key, the newline). None when the text has no such line."""
    out = np.zeros(len(text), dtype=np.float64)
    found = False
    for m in _LONG_RANGE_LINE.finditer(text):
        found = True
        out[m.start(2):m.end()] = 1.0
    return out if found else None


def text_features(text: str) -> dict[str, np.ndarray]:
    """Every property of FEATURES that applies to `text`: name -> (T,) float64, one value per character.

    in_string, in_brackets (depth > 0), bracket_depth: Python-style (see code_state); line_position,
    indentation: see line_position; word_start: a letter, digit or '_' that follows none; vowel: a e i o u
    (either case); upper: an upper-case letter; digit: 0-9 and other decimal digits; key_pending: only for a
    long-range task text (see key_pending).
    """
    in_string, depth, _ = code_state(text)
    pos, indent = line_position(text)
    word = np.array([c.isalnum() or c == "_" for c in text], dtype=bool)
    start = word.copy()
    start[1:] &= ~word[:-1]
    feats = {
        "in_string": in_string,
        "in_brackets": (depth > 0).astype(np.float64),
        "bracket_depth": depth,
        "line_position": pos,
        "indentation": indent,
        "word_start": start.astype(np.float64),
        "vowel": np.array([c in VOWELS for c in text], dtype=np.float64),
        "upper": np.array([c.isupper() for c in text], dtype=np.float64),
        "digit": np.array([c.isdecimal() for c in text], dtype=np.float64),
    }
    pending = key_pending(text)
    if pending is not None:
        feats["key_pending"] = pending
    return feats


def regex_feature(text: str, pattern: str) -> np.ndarray:
    """(T,) 1 for every character inside a match of the regular expression `pattern`, else 0.

    Python's `re` with MULTILINE (^ and $ match at every line). Raises PropertyError with a readable
    reason for an empty, too long or invalid pattern.
    """
    if not pattern:
        raise PropertyError("errors.regex_empty")
    if len(pattern) > MAX_REGEX:
        raise PropertyError("errors.regex_long", max=MAX_REGEX)
    try:
        rx = re.compile(pattern, re.M)
    except re.error as e:  # (Python's own words for what is wrong exist in English only: a `detail`)
        if e.pos is None:
            raise PropertyError("errors.regex_invalid", detail=e.msg) from None
        raise PropertyError("errors.regex_invalid_at", detail=e.msg, pos=e.pos) from None
    out = np.zeros(len(text), dtype=np.float64)
    for m in rx.finditer(text):
        out[m.start():m.end()] = 1.0
    return out


# ---------------------------------------------------------------------------------------------------------
# units that track a property

CONSTANT_STD = 1e-6  # a unit (or property) whose values vary less than this over the text is constant


@dataclass
class Ranking:
    """Units ranked by how well they track a property: r[u] = Pearson correlation of unit u with it over
    the text (nan for a unit that is constant there, or for every unit when the property is constant);
    order = unit indices by |r|, strongest first, constant units last (by index)."""

    r: np.ndarray  # (H,)
    order: np.ndarray  # (H,) int

    @property
    def best(self) -> int | None:
        """The unit with the largest |r|, None when no unit has a defined r."""
        return int(self.order[0]) if len(self.order) and np.isfinite(self.r[self.order[0]]) else None


def rank_units(values: np.ndarray, feature: np.ndarray) -> Ranking:
    """values (T, H) unit activations, feature (T,) -> Ranking (Pearson r per unit, in float64).

    r = sum((v - mean v)(f - mean f)) / sqrt(sum (v - mean v)^2 * sum (f - mean f)^2), as np.corrcoef.
    A unit or a property with standard deviation below CONSTANT_STD (float32 noise of a saturated unit
    included) gets nan: its correlation is not defined.
    """
    v = np.asarray(values, dtype=np.float64)
    f = np.asarray(feature, dtype=np.float64)
    if v.ndim != 2 or f.shape != (v.shape[0],):
        raise ValueError(f"values must be (T, H) and feature (T,), got {v.shape} and {f.shape}")
    H = v.shape[1]
    r = np.full(H, np.nan)
    if v.shape[0] >= 2:
        vc = v - v.mean(axis=0)
        fc = f - f.mean()
        sv = np.sqrt((vc * vc).mean(axis=0))  # (H,)
        sf = float(np.sqrt((fc * fc).mean()))
        ok = sv >= CONSTANT_STD
        if sf >= CONSTANT_STD and ok.any():
            r[ok] = (vc[:, ok] * fc[:, None]).mean(axis=0) / (sv[ok] * sf)
            r = np.clip(r, -1.0, 1.0)
    key = np.where(np.isfinite(r), -np.abs(r), np.inf)
    return Ranking(r=r, order=np.argsort(key, kind="stable"))


def gate_saturation(gates: np.ndarray, low: float = 0.1, high: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """gates (T, H) sigmoid gate values -> (left (H,), right (H,)): the fraction of the T steps each unit's
    gate is below `low` (left-saturated, e.g. a forget gate that forgets) and above `high` (right-saturated,
    e.g. a forget gate that keeps everything). Empty input gives zeros."""
    g = np.asarray(gates, dtype=np.float64)
    if g.shape[0] == 0:
        return np.zeros(g.shape[1]), np.zeros(g.shape[1])
    return (g < low).mean(axis=0), (g > high).mean(axis=0)


@dataclass
class PCA:
    """Principal components of the hidden states over a text."""

    coords: np.ndarray  # (T, k) h_t - mean projected on the components
    components: np.ndarray  # (k, H) unit-length directions, strongest first
    explained: np.ndarray  # (k,) fraction of the total variance along each component
    mean: np.ndarray  # (H,)


def hidden_pca(hidden: np.ndarray, k: int = 2) -> PCA:
    """hidden (T, H) -> its first k principal components (float64).

    With x = hidden - mean and singular values s of x: explained[j] = s_j^2 / sum(s^2), the components are
    the top right singular vectors. They are read from the eigen-decomposition of the smaller Gram matrix
    (x^T x or x x^T, eigenvalues s^2), in torch, whose thread pool the app caps: numpy's multi-threaded
    LAPACK took 50x longer on the shared 2-core machine. Fewer than k components exist when T or H is
    small: the missing ones are zero (coords, components, explained), as is everything when the states do
    not vary at all.
    """
    import torch

    h = np.asarray(hidden, dtype=np.float64)
    T, H = h.shape
    mean = h.mean(axis=0) if T else np.zeros(H)
    coords, comps, expl = np.zeros((T, k)), np.zeros((k, H)), np.zeros(k)
    if T < 2:
        return PCA(coords=coords, components=comps, explained=expl, mean=mean)
    x = torch.from_numpy(h - mean)  # (T, H)
    total = float((x * x).sum())  # = sum(s^2)
    m = min(k, T, H)
    if total <= 0 or m == 0:
        return PCA(coords=coords, components=comps, explained=expl, mean=mean)
    if H <= T:
        w, v = torch.linalg.eigh(x.T @ x)  # ascending eigenvalues s^2, eigenvectors = right singular vectors
        vt = v[:, -m:].flip(1).T  # (m, H)
    else:
        w, u = torch.linalg.eigh(x @ x.T)  # (T, T): left singular vectors; v_j = x^T u_j / s_j
        top = u[:, -m:].flip(1)  # (T, m)
        s = torch.sqrt(torch.clamp(w[-m:].flip(0), min=0))
        vt = (x.T @ top / torch.where(s > 0, s, 1)).T  # (m, H)
    ev = torch.clamp(w[-m:].flip(0), min=0).numpy()
    vt = vt.numpy()
    # a sign convention, so that the picture does not flip between redraws: largest loading positive
    signs = np.sign(vt[np.arange(m), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    comps[:m] = vt * signs[:, None]
    expl[:m] = ev / total
    coords[:, :m] = (x @ torch.from_numpy(np.ascontiguousarray(comps[:m].T))).numpy()
    return PCA(coords=coords, components=comps, explained=expl, mean=mean)


def similarity_order(values: np.ndarray) -> np.ndarray:
    """Unit indices in an order where units that behave alike over the text sit together.

    Greedy chain on the correlation matrix: start from the unit most correlated with all the others, then
    repeatedly append the not yet placed unit most correlated (signed) with the last one placed. Constant
    units (std < CONSTANT_STD) come last, by index. values (T, H) -> (H,) int.
    """
    v = np.asarray(values, dtype=np.float64)
    H = v.shape[1]
    if v.shape[0] < 2:
        return np.arange(H)
    vc = v - v.mean(axis=0)
    sd = np.sqrt((vc * vc).mean(axis=0))
    live = np.flatnonzero(sd >= CONSTANT_STD)
    dead = np.flatnonzero(sd < CONSTANT_STD)
    if len(live) <= 2:
        return np.concatenate([live, dead]).astype(np.int64)
    import torch

    z = torch.from_numpy(vc[:, live] / sd[live])  # (T, L); torch: its thread pool is capped (see hidden_pca)
    corr = ((z.T @ z) / v.shape[0]).numpy()  # (L, L)
    np.fill_diagonal(corr, -np.inf)
    placed = np.zeros(len(live), dtype=bool)
    cur = int(np.argmax(np.where(np.isfinite(corr), corr, 0).sum(axis=1)))
    chain = [cur]
    placed[cur] = True
    for _ in range(len(live) - 1):
        row = np.where(placed, -np.inf, corr[cur])
        cur = int(np.argmax(row))
        chain.append(cur)
        placed[cur] = True
    return np.concatenate([live[chain], dead]).astype(np.int64)


def unit_order(values: np.ndarray, how: str = "index", feature: np.ndarray | None = None) -> np.ndarray:
    """Row order for the heatmap: 'index' (0..H-1), 'similarity' (similarity_order), 'correlation' (by
    |r| with `feature`, strongest first: rank_units(values, feature).order)."""
    H = np.asarray(values).shape[1]
    if how == "index":
        return np.arange(H)
    if how == "similarity":
        return similarity_order(values)
    if how == "correlation":
        if feature is None:
            raise ValueError("ordering by correlation needs a property")
        return rank_units(values, feature).order
    raise ValueError(f"unknown order {how!r}")


def default_probe(val_text: str, text: str, n: int = 400) -> str:
    """A probe text of about n characters: from the validation part (the model has not trained on it),
    starting at a line start, else the start of the whole text when there is no validation part."""
    src = val_text if len(val_text) >= 20 else text
    start = src.find("\n")
    start = start + 1 if 0 <= start < len(src) // 2 else 0
    out = src[start:start + n]
    cut = out.rfind("\n")
    return out[:cut + 1] if cut >= n // 2 else out


# ---------------------------------------------------------------------------------------------------------
# one probe, everything the Hidden page draws

VIEWS = {"rnn": ("h",), "lstm": ("h", "c", "i", "f", "g", "o"), "gru": ("h", "r", "z", "n")}
REGEX = "regex"  # the property name for a user's regular expression
ORDERS = ("index", "similarity", "correlation")


@dataclass
class Probe:
    """The memory of a model over a probe text, with the chosen view, property and row order."""

    trace: object  # charviz.inspect.MemoryTrace
    view: str  # h | c | a gate name
    values: np.ndarray  # (T, H) the view's values
    features: dict[str, np.ndarray]  # text_features(text)
    prop: str  # the chosen property's name (a FEATURES name or REGEX)
    feature: np.ndarray | None  # (T,) its values; None when it cannot be computed (see error)
    error: Msg | str  # why the property could not be computed ('' when it could; a Msg: any language)
    ranking: Ranking | None  # units by |r| with the property (None without a property)
    order: np.ndarray  # (H,) heatmap rows, top to bottom
    saturation: dict[str, tuple[np.ndarray, np.ndarray]]  # sigmoid gate -> gate_saturation(...)
    pca: PCA  # of h

    @property
    def constant_feature(self) -> bool:
        f = self.feature
        return f is not None and (len(f) < 2 or float(np.std(f)) < CONSTANT_STD)


def probe(model, vocab, text: str, view: str = "h", prop: str = "in_string", regex: str = "",
          order: str = "index") -> Probe:
    """Run `model` over `text` (every character in the vocabulary) and compute what the Hidden page shows.

    view: one of VIEWS[model.cell] (else 'h'); prop: a name of text_features(text) or REGEX (then `regex`
    is the pattern; a bad one gives error, not an exception); order: one of ORDERS ('correlation' falls
    back to 'index' when there is no usable property).
    """
    from charviz.inspect import SIGMOID_GATES, memory_trace

    trace = memory_trace(model, vocab, text)
    if view not in VIEWS[model.cell]:
        view = "h"
    values = trace.view(view)
    features = text_features(text)
    feature, error = None, ""
    if prop == REGEX:
        try:
            feature = regex_feature(text, regex)
        except PropertyError as e:
            error = e.msg  # rendered in the reader's language when drawn
    elif prop in features:
        feature = features[prop]
    ranking = rank_units(values, feature) if feature is not None else None
    if order == "correlation" and ranking is not None and ranking.best is not None:
        rows = ranking.order
    elif order == "similarity":
        rows = similarity_order(values)
    else:
        rows = np.arange(values.shape[1])
    saturation = {g: gate_saturation(trace.gates[g]) for g in SIGMOID_GATES[model.cell]}
    return Probe(trace, view, values, features, prop, feature, error, ranking, rows, saturation,
                 hidden_pca(trace.hidden, k=2))
