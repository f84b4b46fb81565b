"""charviz.inspect against independent references: torch's fused modules, finite differences, hand math."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from charviz.data import Vocab
from charviz.inspect import forward_trace, generate, gradient_flow, predict_next, scalar_bptt
from charviz.model import CharRNN, seeded_model

TEXT = "hello world, hello"


def _model(cell, vocab, H=6, seed=0, dtype=torch.float64):
    return seeded_model(len(vocab), H, cell, seed, dtype, weight_range=0.9)


@pytest.fixture
def vocab():
    return Vocab.from_text(TEXT)


# -- forward trace ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_trace_matches_fused_forward(cell, vocab):
    m = _model(cell, vocab, dtype=torch.float32)
    tr = forward_trace(m, vocab, TEXT)
    ids = torch.tensor(vocab.encode(TEXT))[None]
    logits, _, h_last = m(ids)
    np.testing.assert_allclose(tr.logits, logits[0].detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tr.hidden[-1], CharRNN.hidden_of(h_last)[0].detach().numpy(), atol=1e-5)
    assert tr.hidden.shape == (len(TEXT), 6) and tr.logits.shape == (len(TEXT), len(vocab))
    assert (tr.cell is not None) == (cell == "lstm")
    if cell == "lstm":
        np.testing.assert_allclose(tr.cell[-1], h_last[1][0].detach().numpy(), atol=1e-5)


def test_trace_probs_onehot_targets_and_losses(vocab):
    m = _model("rnn", vocab, dtype=torch.float32)
    tr = forward_trace(m, vocab, TEXT)
    np.testing.assert_allclose(tr.probs.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(tr.probs >= 0)
    # one-hot rows: a single 1 at the character's index
    assert tr.onehot.sum(axis=1).tolist() == [1.0] * len(TEXT)
    assert tr.onehot.argmax(axis=1).tolist() == vocab.encode(TEXT)
    assert tr.targets == [*TEXT[1:], None]
    # loss = -ln p(true next char), checked against torch's cross-entropy on the fused logits
    ids = torch.tensor(vocab.encode(TEXT))
    logits, _, _ = m(ids[None, :-1])
    ce = F.cross_entropy(logits[0].double(), ids[1:], reduction="none").detach().numpy()
    np.testing.assert_allclose(tr.losses[:-1], ce, rtol=1e-5)
    assert np.isnan(tr.losses[-1])
    np.testing.assert_allclose(tr.target_probs[:-1], np.exp(-ce), rtol=1e-5)
    # the same loss in bits (what every page shows): -log2 p = nats / ln 2; a window keeps it row by row
    np.testing.assert_allclose(tr.bits[:-1], ce / np.log(2.0), rtol=1e-5)
    np.testing.assert_allclose(tr.bits[:-1], -np.log2(tr.target_probs[:-1]), rtol=1e-5)
    assert np.isnan(tr.bits[-1])
    np.testing.assert_allclose(tr.window(2, 5).bits, tr.bits[2:5])


def test_predict_next_agrees_with_last_trace_row(vocab):
    m = _model("gru", vocab, dtype=torch.float32)
    tr = forward_trace(m, vocab, "hello wo")
    top = predict_next(m, vocab, "hello wo", k=3)
    order = np.argsort(-tr.probs[-1])[:3]
    assert [c for c, _ in top] == [vocab.itos[i] for i in order]
    np.testing.assert_allclose([p for _, p in top], tr.probs[-1][order])
    assert top[0][1] >= top[1][1] >= top[2][1]


def test_empty_prefix_predicts_from_the_initial_state(vocab):
    m = _model("rnn", vocab, dtype=torch.float32)
    tr = forward_trace(m, vocab, "")
    assert tr.logits.shape == (0, len(vocab))
    expected = torch.softmax(m.head(torch.zeros(m.hidden_size)).double(), -1)
    np.testing.assert_allclose(tr.next_probs, expected.detach().numpy(), rtol=1e-6)
    assert predict_next(m, vocab, "", k=1)[0][0] == vocab.itos[int(expected.argmax())]


def test_unknown_characters_are_named(vocab):
    m = _model("rnn", vocab, dtype=torch.float32)
    with pytest.raises(ValueError, match="'Z'"):
        forward_trace(m, vocab, "heZlo")


def test_generate_argmax_and_seeded_sampling(vocab):
    m = _model("lstm", vocab, dtype=torch.float32)
    greedy = generate(m, vocab, "he", 6, temperature=0)
    # greedy continuation: each char is the top-1 prediction after everything before it
    text = "he"
    for ch, p in greedy:
        (best, pbest), = predict_next(m, vocab, text, k=1)
        assert ch == best and p == pytest.approx(pbest, rel=1e-6)
        text += ch
    a = generate(m, vocab, "he", 30, temperature=1.0, seed=7)
    b = generate(m, vocab, "he", 30, temperature=1.0, seed=7)
    assert a == b
    assert all(0 < p <= 1 for _, p in a)


# -- gradient flow against finite differences (float64) --------------------------------------------------


def _losses_with_offset(m, vocab, text, t_pert=None, delta=None, x_delta=None):
    """Per-step losses of the unrolled model, with h_t (after step t_pert) shifted by delta. Independent of
    charviz.inspect: a plain loop over CharRNN.step."""
    ids = vocab.encode(text)
    x = F.one_hot(torch.tensor(ids[:-1]), len(vocab)).double()
    if x_delta is not None:
        x = x + x_delta
    state = m.init_state(1, dtype=torch.float64)
    losses = []
    for t in range(len(ids) - 1):
        state = m.step(x[t : t + 1], state)
        if t == t_pert:
            state = (state[0] + delta, state[1]) if isinstance(state, tuple) else state + delta
        logp = torch.log_softmax(m.head(CharRNN.hidden_of(state))[0], -1)
        losses.append(-logp[ids[t + 1]])
    return torch.stack(losses)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_flow_equals_finite_differences(cell, vocab):
    text = "hello world"
    m = _model(cell, vocab, H=5)
    gf = gradient_flow(m, vocab, text)
    T, H, eps = len(text) - 1, 5, 1e-6
    assert gf.grad_norm_total.shape == gf.grad_norm_last.shape == gf.loss.shape == (T,)
    base = _losses_with_offset(m, vocab, text)
    np.testing.assert_allclose(gf.loss, base.detach().numpy(), rtol=1e-12)
    with torch.no_grad():
        for t in range(T):
            fd_total, fd_last = np.zeros(H), np.zeros(H)
            for j in range(H):
                d = torch.zeros(1, H, dtype=torch.float64)
                d[0, j] = eps
                lp = _losses_with_offset(m, vocab, text, t, d)
                lm = _losses_with_offset(m, vocab, text, t, -d)
                fd_total[j] = float(lp.sum() - lm.sum()) / (2 * eps)
                fd_last[j] = float(lp[-1] - lm[-1]) / (2 * eps)
            assert gf.grad_norm_total[t] == pytest.approx(np.linalg.norm(fd_total), rel=1e-5, abs=1e-9)
            assert gf.grad_norm_last[t] == pytest.approx(np.linalg.norm(fd_last), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_saliency_and_parameter_gradients(cell, vocab):
    text = "hello wor"
    m = _model(cell, vocab, H=4)
    gf = gradient_flow(m, vocab, text)
    T, V, eps = len(text) - 1, len(vocab), 1e-6
    with torch.no_grad():
        for t in (0, T // 2, T - 1):
            fd = np.zeros(V)
            for j in range(V):
                d = torch.zeros(T, V, dtype=torch.float64)
                d[t, j] = eps
                fd[j] = float(_losses_with_offset(m, vocab, text, x_delta=d)[-1]
                              - _losses_with_offset(m, vocab, text, x_delta=-d)[-1]) / (2 * eps)
            assert gf.saliency[t] == pytest.approx(np.linalg.norm(fd), rel=1e-5, abs=1e-9)
    # parameter gradients of the summed loss: torch autograd through the FUSED module as the reference
    ref = copy.deepcopy(m)
    ids = torch.tensor(vocab.encode(text))
    _, loss, _ = ref(ids[None, :-1], ids[None, 1:])
    (loss * T).backward()
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(gf.param_grads[name], p.grad.numpy(), rtol=1e-8, atol=1e-10)
        assert gf.param_grad_norms[name] == pytest.approx(float(p.grad.norm()), rel=1e-8)
    np.testing.assert_allclose(
        gf.singular_values, np.linalg.svd(m.rnn.weight_hh_l0.detach().numpy(), compute_uv=False), rtol=1e-10
    )


def test_gradient_flow_leaves_model_and_optimizer_untouched(vocab):
    m = _model("rnn", vocab, dtype=torch.float32)
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    ids = torch.tensor(vocab.encode(TEXT))
    _, loss, _ = m(ids[None, :-1], ids[None, 1:])
    loss.backward()
    opt.step()
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    weights = {n: p.detach().clone() for n, p in m.named_parameters()}
    opt_state = copy.deepcopy(opt.state_dict())
    gradient_flow(m, vocab, TEXT)
    for n, p in m.named_parameters():
        assert torch.equal(p.grad, grads[n]) and torch.equal(p.detach(), weights[n])
        assert p.dtype == torch.float32
    after = opt.state_dict()
    for k, st in opt_state["state"].items():
        for name, v in st.items():
            assert torch.equal(torch.as_tensor(after["state"][k][name]), torch.as_tensor(v))


def test_gradient_flow_works_on_a_frozen_inference_copy():
    from charviz.train import TrainConfig, Trainer

    tr = Trainer(TEXT * 5, TrainConfig(hidden_size=8, seq_len=8, batch_size=2))
    frozen = tr.frozen_model()
    a = gradient_flow(frozen, tr.vocab, TEXT)
    b = gradient_flow(tr.model, tr.vocab, TEXT)
    np.testing.assert_allclose(a.grad_norm_last, b.grad_norm_last)
    assert not any(p.requires_grad for p in frozen.parameters())


def test_gradient_flow_shows_vanishing_for_small_recurrent_weights(vocab):
    m = _model("rnn", vocab, H=6)
    with torch.no_grad():
        m.rnn.weight_hh_l0.mul_(0.1)
    gf = gradient_flow(m, vocab, "hello world, hello world")
    g = gf.grad_norm_last
    assert g[-1] > 1e3 * g[0]  # the last loss barely reaches the first steps


# -- the scalar example ----------------------------------------------------------------------------------


def test_scalar_bptt_linear_w3_is_powers_of_three():
    g = scalar_bptt(3.0, 20)
    assert len(g) == 21
    T = 20
    assert g.tolist() == [3.0 ** (T - t) for t in range(T + 1)]
    assert g[T - 1] == 3 and g[T - 2] == 9 and g[T - 3] == 27


def test_scalar_bptt_vanishes_for_small_w():
    g = scalar_bptt(0.5, 40)
    assert g[0] == pytest.approx(0.5**40)
    assert g[0] < 1e-11


@pytest.mark.parametrize("w", [0.5, 1.5, 3.0])
def test_scalar_bptt_tanh_matches_autograd_and_is_bounded_by_linear(w):
    T, h0, x = 15, 0.1, 0.2
    g = scalar_bptt(w, T, "tanh", h0=h0, x=x)
    hs = [torch.tensor(h0, dtype=torch.float64, requires_grad=True)]
    for _ in range(T):
        h = torch.tanh(w * hs[-1] + x)
        h.retain_grad()
        hs.append(h)
    hs[-1].backward()
    auto = [float(h.grad) for h in hs[:-1]] + [1.0]
    np.testing.assert_allclose(g, auto, rtol=1e-12)
    assert np.all(np.abs(g) <= np.abs(scalar_bptt(w, T, "linear")) + 1e-15)


def test_long_range_recall_separates_remembering_from_forgetting():
    """An LSTM trained (a bounded number of steps) on the task recalls the key; an untrained one does not. The
    reference reads the fused torch module in float64 numpy, not forward_trace."""
    from charviz.data import long_range_text
    from charviz.inspect import long_range_recall
    from charviz.train import TrainConfig, Trainer

    held_out = long_range_text(k=2, lines=40, seed=1)

    def reference(model, vocab):
        ids = vocab.encode(held_out)
        with torch.no_grad():
            logits, _, _ = model(torch.tensor(ids[:-1]).view(1, -1))
        z = logits[0].double().numpy()
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows = [i for i, c in enumerate(held_out[:-1]) if c == ":"]
        keys = [ids[i + 1] for i in rows]
        bits = float(np.mean([-np.log2(p[i, key]) for i, key in zip(rows, keys, strict=True)]))
        acc = float(np.mean([p[i].argmax() == key for i, key in zip(rows, keys, strict=True)]))
        return acc, bits

    tr = Trainer(long_range_text(k=2, lines=1500, seed=0),
                 TrainConfig(cell="lstm", hidden_size=16, seq_len=8, batch_size=8, lr=1e-2, seed=0))
    untrained = long_range_recall(tr.model, tr.vocab, held_out)
    assert untrained.k == 2 and untrained.n == 40 and untrained.chance_bits == 2.0
    assert untrained.bits > 1.0  # a random model has not seen the keys
    for _ in range(400):
        tr.step()
    r = long_range_recall(tr.model, tr.vocab, held_out)
    acc, bits = reference(tr.model, tr.vocab)
    assert r.accuracy == pytest.approx(acc) and r.bits == pytest.approx(bits, rel=1e-4)
    assert r.accuracy >= 0.9 and r.bits < 0.5  # it remembers the key across k + 1 = 3 steps
    with pytest.raises(ValueError):
        long_range_recall(tr.model, tr.vocab, "no task here")
