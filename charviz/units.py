"""Units of the loss: nats (natural log, what torch's cross-entropy gives) and bits (log base 2)."""

import math

LN2 = math.log(2.0)  # nats per bit


def to_bits(nats: float) -> float:
    """A loss in nats per character, in bits per character."""
    return nats / LN2


def uniform_bits(vocab_size: int) -> float:
    """log2(V): the loss, in bits per character, of a uniform guess over V characters (knowing nothing)."""
    return math.log2(max(vocab_size, 2))
