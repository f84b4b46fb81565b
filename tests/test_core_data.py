"""charviz.data: vocabulary, corpora, checks and truncated-BPTT batches."""

import pytest
import torch

from charviz.data import (
    BatchStream,
    TextError,
    Vocab,
    check_text,
    decode_upload,
    load_corpus,
    long_range_text,
    show_char,
    split_text,
)


def test_vocab_is_sorted_unique_and_round_trips():
    v = Vocab.from_text("hello")
    assert v.itos == ("e", "h", "l", "o")
    assert v.stoi == {"e": 0, "h": 1, "l": 2, "o": 3}
    assert len(v) == 4
    assert v.encode("hello") == [1, 0, 2, 2, 3]
    assert v.decode([1, 0, 2, 2, 3]) == "hello"


def test_vocab_handles_any_unicode():
    text = "안녕하세요 세계 ⏎ café"
    v = Vocab.from_text(text)
    assert v.decode(v.encode(text)) == text
    assert len(v) == len(set(text))


def test_encode_names_every_unknown_character():
    v = Vocab.from_text("hello")
    with pytest.raises(ValueError) as e:
        v.encode("hXeZlX")
    msg = str(e.value)
    assert "'X'" in msg and "'Z'" in msg
    assert v.unknown("hXeZlX") == ["X", "Z"]


def test_show_char_makes_whitespace_visible():
    assert [show_char(c) for c in " \n\ta"] == ["␣", "⏎", "⇥", "a"]


@pytest.mark.parametrize("bad", ["", "a", "aaaa", "\n\n\n"])
def test_check_text_refuses_untrainable_text(bad):
    with pytest.raises(TextError):
        check_text(bad)


def test_decode_upload_messages():
    assert decode_upload(b"hello world") == "hello world"
    with pytest.raises(TextError, match="not UTF-8"):
        decode_upload(b"\xff\xfe\x00bad")
    with pytest.raises(TextError, match="empty"):
        decode_upload(b"")
    with pytest.raises(TextError, match="one distinct"):
        decode_upload(b"zzzzzz")
    with pytest.raises(TextError, match="limit"):
        decode_upload(b"ab" * 1000, max_bytes=100)


def test_hello_corpus():
    text = load_corpus("hello")
    assert text.startswith("hellohello")
    assert Vocab.from_text(text).itos == ("e", "h", "l", "o")


def test_python_corpus_is_deterministic_source_of_the_right_size():
    a = load_corpus("python")
    b = load_corpus("python")
    assert a == b
    assert 1_000_000 <= len(a) <= 2_000_000
    assert "def " in a and "import " in a
    assert a.isascii()


@pytest.mark.parametrize("k", [0, 3, 20])
def test_long_range_lines_repeat_their_key_after_k_fillers(k):
    text = long_range_text(k=k, lines=50, seed=1)
    lines = text.splitlines()
    assert len(lines) == 50
    for line in lines:
        body = line.lstrip(".")
        assert len(line) - len(body) <= 3  # 0-3 dots of padding
        assert len(body) == k + 3
        assert body[0] == body[-1] and body[0] in "ABCD"
        assert body[-2] == ":"
        assert set(body[1 : 1 + k]) <= set("xyz")
    assert len({len(line) for line in lines}) > 1  # varying line lengths: no counting from the start
    assert long_range_text(k=k, lines=50, seed=1) == text


def test_unknown_corpus():
    with pytest.raises(KeyError):
        load_corpus("nope")


def test_split_keeps_a_held_out_tail():
    text = "abcdefghij" * 10
    train, val = split_text(text, 0.1)
    assert train + val == text
    assert len(val) == 10


def test_batches_shift_by_one_and_continue_each_stream():
    ids = torch.arange(1000)
    bs = BatchStream(ids, batch_size=4, seq_len=10)
    x1, y1, reset1 = bs.next()
    x2, y2, reset2 = bs.next()
    assert x1.shape == (4, 10) and y1.shape == (4, 10)
    assert reset1 and not reset2
    assert torch.equal(y1[:, :-1], x1[:, 1:])
    assert torch.equal(y1, x1 + 1)  # ids are consecutive integers: the target is the next one
    # window 2 starts where window 1 ended, in every stream
    assert torch.equal(x2[:, 0], y1[:, -1])
    assert torch.equal(x2[:, 0], x1[:, -1] + 1)
    # streams are contiguous, non-overlapping quarters of the text
    assert x1[:, 0].tolist() == [0, 250, 500, 750]


def test_batches_wrap_and_say_so():
    bs = BatchStream(torch.arange(100), batch_size=2, seq_len=10)
    resets = [bs.next()[2] for _ in range(bs.windows_per_epoch * 2)]
    assert resets[0] and resets[bs.windows_per_epoch]
    assert sum(resets) == 2


def test_batches_shrink_for_tiny_text():
    bs = BatchStream(torch.tensor([0, 1, 2, 3, 0]), batch_size=64, seq_len=64)
    x, y, _ = bs.next()
    assert x.shape == y.shape and x.numel() >= 1
    assert torch.equal(y[:, :-1], x[:, 1:])


def test_step_labels_number_the_steps_and_show_whitespace():
    from charviz.data import step_labels

    assert step_labels("a b\n") == ["0: a", "1: ␣", "2: b", "3: ⏎"]
    assert step_labels(["x", "\t"], offset=480) == ["480: x", "481: ⇥"]
    assert step_labels("") == []
