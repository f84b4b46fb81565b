"""charviz.checkpoint: round trip, refusal of pickled code, shape mismatch."""

import io
import os
import pickle

import pytest
import torch

from charviz import checkpoint
from charviz.checkpoint import CheckpointError, load, save, trainer_from_checkpoint
from charviz.inspect import forward_trace
from charviz.train import TrainConfig, Trainer

TEXT = "to be or not to be, that is the question. " * 20


def _trained():
    tr = Trainer(TEXT, TrainConfig(cell="gru", hidden_size=12, seq_len=8, batch_size=4))
    for _ in range(5):
        tr.step()
    return tr


def test_round_trip_file_and_bytes(tmp_path):
    tr = _trained()
    path = tmp_path / "m.pt"
    save(tr, path)
    for source in (path, checkpoint.to_bytes(tr)):
        ck = load(source)
        assert ck.vocab == tr.vocab and ck.config == tr.config and ck.step == 5
        a = forward_trace(tr.model, tr.vocab, "to be").probs
        b = forward_trace(ck.model, ck.vocab, "to be").probs
        assert (a == b).all()
    cont = trainer_from_checkpoint(load(path), TEXT)
    assert cont.steps == 5
    for (n, p), q in zip(cont.model.named_parameters(), tr.model.parameters(), strict=True):
        assert torch.equal(p, q), n
    assert cont.optimizer.state_dict()["state"][0]["step"] == tr.optimizer.state_dict()["state"][0]["step"]
    cont.step()  # continues training


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + _Evil.marker,))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch's note about the crafted file
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    _Evil.marker = str(marker)
    buf = io.BytesIO()
    torch.save({"format": "charviz-checkpoint", "payload": _Evil()}, buf)
    with pytest.raises(CheckpointError, match="refused"):
        load(buf.getvalue())
    assert not marker.exists()
    raw = pickle.dumps(_Evil())
    with pytest.raises(CheckpointError):
        load(raw)
    assert not marker.exists()


def test_garbage_and_foreign_files_are_refused():
    with pytest.raises(CheckpointError, match="not a readable"):
        load(b"this is not a checkpoint at all")
    buf = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buf)
    with pytest.raises(CheckpointError, match="not a charviz checkpoint"):
        load(buf.getvalue())


def test_shape_mismatch_gives_a_clear_error():
    tr = _trained()
    buf = io.BytesIO()
    save(tr, buf)
    payload = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    payload["state_dict"]["head.weight"] = torch.zeros(3, 3)
    bad = io.BytesIO()
    torch.save(payload, bad)
    with pytest.raises(CheckpointError, match="head.weight has shape"):
        load(bad.getvalue())


def test_text_with_unseen_characters_cannot_continue():
    ck = load(checkpoint.to_bytes(_trained()))
    with pytest.raises(CheckpointError, match="never seen"):
        trainer_from_checkpoint(ck, "QQQ zzz")
