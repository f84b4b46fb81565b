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
    with pytest.raises(CheckpointError, match="can run code") as e:
        load(buf.getvalue())
    assert "weights_only" not in str(e.value) and "posix.system" in str(e.value)
    assert not marker.exists()
    raw = pickle.dumps(_Evil())
    with pytest.raises(CheckpointError, match="bare Python pickle"):
        load(raw)
    assert not marker.exists()


def test_garbage_and_foreign_files_are_refused():
    with pytest.raises(CheckpointError, match="not a charviz checkpoint"):
        load(b"this is not a checkpoint at all")
    buf = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buf)
    with pytest.raises(CheckpointError, match="PyTorch file, but not a charviz checkpoint"):
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


# ---------------------------------------------------------------------------------------------------------
# hostile files (issues 12 and 13): each is refused before anything is allocated for it, in the app's words


def _payload(tr=None) -> dict:
    return torch.load(io.BytesIO(checkpoint.to_bytes(tr or _trained())), weights_only=True)


def _saved(payload: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def _with_config(**changes) -> bytes:
    p = _payload()
    p["config"].update(changes)
    return _saved(p)


def _refusal(data: bytes) -> str:
    with pytest.raises(CheckpointError) as e:
        load(data)
    msg = str(e.value)
    assert "weights_only" not in msg and "Traceback" not in msg and "/" not in msg.split("(")[0], msg
    return msg


def test_random_bytes_are_not_called_code():
    rng = torch.Generator().manual_seed(0)
    junk = bytes(torch.randint(0, 256, (5000,), generator=rng, dtype=torch.uint8).tolist())
    msg = _refusal(junk)
    assert "not a charviz checkpoint" in msg and "code" not in msg
    assert "empty" in _refusal(b"")


def test_truncated_checkpoint_says_truncated():
    data = checkpoint.to_bytes(_trained())
    for cut in (len(data) // 2, len(data) - 30):
        assert "truncated" in _refusal(data[:cut])


@pytest.mark.parametrize("changes, word", [
    ({"seed": 2**70}, "seed"), ({"seed": 2**31}, "seed"), ({"seed": -1}, "seed"),
    ({"hidden_size": 2**40}, "hidden_size"), ({"hidden_size": 2e40}, "hidden_size"),
    ({"hidden_size": 16_384}, "hidden_size"), ({"seq_len": 1000}, "seq_len"), ({"batch_size": 100_000}, "batch_size"),
    ({"batch_size": True}, "batch_size"), ({"lr": float("nan")}, "lr"), ({"lr": 1e300}, "lr"),
    ({"cell": "transformer"}, "cell"), ({"optimizer": "os.system"}, "optimizer"), ({"clip": -1.0}, "clip"),
])
def test_config_values_outside_the_apps_limits_are_refused(changes, word):
    msg = _refusal(_with_config(**changes))
    assert "outside this app's limits" in msg and word in msg


def test_config_within_limits_but_over_the_budget_is_refused():
    # LSTM 512 with window 512 and batch 512: the widgets allow each value, the budget not their product
    msg = _refusal(_with_config(cell="lstm", hidden_size=512, seq_len=512, batch_size=512))
    assert "too large for this server" in msg and "MB" in msg


def test_weights_must_have_the_shapes_the_config_implies():
    p = _payload()
    p["config"]["hidden_size"] = 16  # the tensors are for 12
    msg = _refusal(_saved(p))
    assert "do not fit" in msg and "(48, " in msg
    p = _payload()
    p["state_dict"]["rnn.weight_hh_l0"] = p["state_dict"]["rnn.weight_hh_l0"].double()
    assert "float64" in _refusal(_saved(p))
    p = _payload()
    p["vocab"] = p["vocab"][:-1] + [p["vocab"][0]]
    assert "twice" in _refusal(_saved(p))


def test_optimizer_state_must_fit_the_weights():
    p = _payload()
    p["optimizer"]["state"][1]["exp_avg"] = torch.zeros(5, 5)
    assert "optimizer state" in _refusal(_saved(p))


def test_expected_shapes_match_the_model():
    from charviz.model import CharRNN

    for cell in ("rnn", "lstm", "gru"):
        m = CharRNN(7, 5, cell)
        assert checkpoint.expected_shapes(cell, 7, 5) == {k: tuple(v.shape) for k, v in m.state_dict().items()}


def zip_bomb(size: int = 1_000_000_000) -> bytes:
    """A valid checkpoint archive plus a deflated entry that unpacks to `size` zero bytes (about 1 MB)."""
    import zipfile

    good = zipfile.ZipFile(io.BytesIO(checkpoint.to_bytes(_trained())))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in good.infolist():
            z.writestr(info, good.read(info))
        prefix = good.namelist()[0].split("/")[0]
        info = zipfile.ZipInfo(f"{prefix}/data/99")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as w:
            chunk = bytes(16 * 1024 * 1024)
            for _ in range(size // len(chunk)):
                w.write(chunk)
    return out.getvalue()


def lying_directory() -> bytes:
    """A checkpoint whose zip directory claims a 1 GB entry (stored, so nothing to inflate)."""
    import struct

    data = bytearray(checkpoint.to_bytes(_trained()))
    cd = data.rfind(b"PK\x01\x02")  # the last central-directory record: patch its uncompressed size
    data[cd + 24: cd + 28] = struct.pack("<I", 1_000_000_000)
    return bytes(data)


def test_zip_bomb_and_lying_directory_are_refused_unopened():
    assert "not unpacked" in _refusal(zip_bomb(64 * 1024 * 1024))
    assert "not unpacked" in _refusal(lying_directory()) or "damaged" in _refusal(lying_directory())


HOSTILE_RUN = """
import sys
from pathlib import Path
from charviz.checkpoint import CheckpointError, load
from charviz.limits import Budget, BudgetError
from charviz.train import TrainConfig, Trainer
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
text = "".join(chr(32 + i % 90) for i in range(200_000))
load(sys.argv[1])  # a good checkpoint first: whatever torch allocates once per process
Trainer(text[:5000], TrainConfig(hidden_size=8)).step()
open("/proc/self/clear_refs", "w").write("5")
r0 = status("VmRSS")
refused = 0
for path in sys.argv[2:]:
    try:
        load(Path(path).read_bytes())
    except CheckpointError:
        refused += 1
for cell in ("rnn", "lstm", "gru"):
    for h, t, b in ((512, 512, 512), (512, 64, 512), (128, 512, 512), (512, 512, 64)):
        try:
            Trainer(text, TrainConfig(cell=cell, hidden_size=h, seq_len=t, batch_size=b), budget=Budget())
        except BudgetError:
            refused += 1
print(refused, status("VmHWM") - r0)
"""


def test_hostile_checkpoints_and_refused_configs_leave_peak_memory_flat(tmp_path):
    """Issue 12/13: load every hostile checkpoint and build every refused configuration in one process: each
    is refused, and the process's peak memory grows by less than 200 MB in all."""
    import subprocess
    import sys
    from pathlib import Path

    files = {
        "bomb": zip_bomb(),  # 1 GB of zeros, deflated
        "lying": lying_directory(),
        "hidden_16384": _with_config(hidden_size=16_384),
        "hidden_2e40": _with_config(hidden_size=2e40),
        "hidden_2_40": _with_config(hidden_size=2**40),
        "seed_2_70": _with_config(seed=2**70),
        "window_1000": _with_config(seq_len=1000),
        "batch_100000": _with_config(batch_size=100_000),
        "lstm_maxima": _with_config(cell="lstm", hidden_size=512, seq_len=512, batch_size=512),
        "random": bytes(range(256)) * 100,
        "truncated": checkpoint.to_bytes(_trained())[:3000],
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    good = tmp_path / "good.pt"
    good.write_bytes(checkpoint.to_bytes(_trained()))
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", HOSTILE_RUN, str(good), *paths], capture_output=True, text=True,
                         cwd=root, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    refused, growth = out.stdout.split()
    assert int(refused) == len(files) + 12
    assert float(growth) < 200, f"peak memory grew by {growth} MB"
