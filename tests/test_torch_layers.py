"""The "torch" recipe against torch's own layer init, for every layer type it covers:

* exact spec parity: the bound or std sow uses equals the one torch computes. torch's values are
  captured at the aten level (``uniform_(-b, b)``, ``normal_(0, s)``, ``fill_``, ``zero_``) while
  the layer is constructed (its ``reset_parameters``), and compared with the distribution sow's
  plan resolved each parameter to (rel 1e-12);
* distribution parity: two-sample KS of sow's values against torch's own init of the same shapes
  (torch.manual_seed(0), sow seed 0), p > 1e-4 for every random parameter;
* Embedding's padding_idx row is zero, BatchNorm's running statistics are reset.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")
from torch import nn  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import sow.torch as st  # noqa: E402

KS_P_MIN = 1e-4


class _Capture(TorchDispatchMode):
    """The last whole-tensor init op of every storage: ("uniform", a, b) | ("normal", mean,
    std) | ("constant", val)."""

    def __init__(self):
        super().__init__()
        self.ops = {}
        self.seen = []  # the storages keyed, kept alive so that no later tensor reuses a key

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = str(func)
        t = args[0] if args else None
        if isinstance(t, torch.Tensor) and t.storage_offset() == 0 and t.is_contiguous() \
                and t.numel() == t.untyped_storage().nbytes() // t.element_size():
            key = t.untyped_storage()._cdata
            self.seen.append(t.untyped_storage())
            a = lambda i, k, d: float(args[i]) if len(args) > i else float(kwargs.get(k, d))  # noqa: E731
            if name == "aten.uniform_.default":
                self.ops[key] = ("uniform", a(1, "from", 0.0), a(2, "to", 1.0))
            elif name == "aten.normal_.default":
                self.ops[key] = ("normal", a(1, "mean", 0.0), a(2, "std", 1.0))
            elif name == "aten.fill_.Scalar":
                self.ops[key] = ("constant", float(args[1]))
            elif name == "aten.zero_.default":
                self.ops[key] = ("constant", 0.0)
            elif name == "aten.copy_.default":
                self.ops[key] = ("copy",)  # a computed value: no spec to compare
        return out


def torch_specs(factory):
    """Build the layer with torch's own init; {fqn: torch's last op} for the tensors it set."""
    with torch.no_grad(), _Capture() as cap:
        m = factory()
    out = {}
    for fqn, t in list(m.named_parameters()) + list(m.named_buffers()):
        op = cap.ops.get(t.untyped_storage()._cdata)
        if op is not None:
            out[fqn] = op
    return m, out


_SPEC = re.compile(r"^(\w+)\((.*)\)")


def sow_op(text):
    """The report's resolved spec as the same tuple form."""
    m = _SPEC.match(text)
    name, body = m.group(1), m.group(2)
    p = {k: float(v) for k, v in (kv.split("=") for kv in body.split(", ") if kv)}
    if name == "uniform":
        return ("uniform", p["a"], p["b"])
    if name == "normal":
        return ("normal", p["mean"], p["std"])
    if name == "constant":
        return ("constant", p["val"])
    raise AssertionError(text)


LAYERS = {
    "Linear": lambda: nn.Linear(48, 20),
    "Linear_nobias": lambda: nn.Linear(7, 3, bias=False),
    "Bilinear": lambda: nn.Bilinear(5, 7, 3),
    "Conv1d": lambda: nn.Conv1d(4, 6, 3),
    "Conv2d_groups": lambda: nn.Conv2d(4, 8, (3, 2), groups=2),
    "Conv3d": lambda: nn.Conv3d(2, 3, 2),
    "ConvTranspose1d": lambda: nn.ConvTranspose1d(4, 6, 3),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(16, 4, 3),
    "ConvTranspose3d_groups": lambda: nn.ConvTranspose3d(4, 6, 2, groups=2),
    "Embedding": lambda: nn.Embedding(11, 6),
    "Embedding_padding": lambda: nn.Embedding(11, 6, padding_idx=2),
    "EmbeddingBag_padding": lambda: nn.EmbeddingBag(9, 4, padding_idx=0),
    "LayerNorm": lambda: nn.LayerNorm(6),
    "RMSNorm": lambda: nn.RMSNorm(6),
    "GroupNorm": lambda: nn.GroupNorm(2, 6),
    "BatchNorm1d": lambda: nn.BatchNorm1d(5),
    "BatchNorm2d": lambda: nn.BatchNorm2d(3),
    "InstanceNorm1d": lambda: nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
    "MultiheadAttention": lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True),
    "MultiheadAttention_kdim": lambda: nn.MultiheadAttention(8, 2, kdim=5, vdim=3),
    "RNN": lambda: nn.RNN(4, 6, num_layers=2),
    "LSTM_proj": lambda: nn.LSTM(4, 6, proj_size=3, bidirectional=True),
    "GRU": lambda: nn.GRU(5, 7),
    "RNNCell": lambda: nn.RNNCell(4, 6),
    "LSTMCell": lambda: nn.LSTMCell(4, 6),
    "GRUCell": lambda: nn.GRUCell(4, 6),
    "PReLU": lambda: nn.PReLU(3, init=0.1),
    "TransformerEncoderLayer": lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16),
    "TransformerDecoderLayer": lambda: nn.TransformerDecoderLayer(8, 2, dim_feedforward=16),
    "Transformer": lambda: nn.Transformer(8, 2, 1, 1, dim_feedforward=16, batch_first=True),
}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_spec_parity_with_torch(layer):
    m, want = torch_specs(LAYERS[layer])
    report = st.init_module_(m, seed=0)
    got = {t.fqn: t for t in report.tensors}
    assert set(got) == {f for f, _ in m.named_parameters()} | {f for f, _ in m.named_buffers()}
    if layer != "Transformer":
        assert set(want) == set(got), (set(want) ^ set(got))
    else:  # torch deep-copies the layers, so only the 2+-d tensors it re-inits are captured
        assert {f for f, p in m.named_parameters() if p.dim() > 1} <= set(want)
    for fqn, op in want.items():
        mine = sow_op(got[fqn].spec.split(" + ")[0])
        assert mine[0] == op[0], (fqn, mine, op)
        assert mine[1:] == pytest.approx(op[1:], rel=1e-12, abs=0), (fqn, mine, op)


def test_embedding_padding_row_is_zero_and_batchnorm_stats_reset():
    e = nn.Embedding(7, 5, padding_idx=3)
    st.init_module_(e, seed=0)
    assert torch.count_nonzero(e.weight[3]) == 0 and torch.count_nonzero(e.weight) == 30
    bn = nn.BatchNorm1d(4)
    bn.train()
    bn(torch.randn(8, 4))
    st.init_module_(bn, seed=0)
    assert torch.equal(bn.running_mean, torch.zeros(4)) and torch.equal(bn.running_var, torch.ones(4))
    assert bn.num_batches_tracked.item() == 0


KS_LAYERS = {
    "Linear": lambda: nn.Linear(256, 64),
    "Bilinear": lambda: nn.Bilinear(20, 30, 16),
    "Conv2d": lambda: nn.Conv2d(16, 32, 3),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(16, 8, 3),
    "Embedding": lambda: nn.Embedding(500, 16, padding_idx=0),
    "MultiheadAttention": lambda: nn.MultiheadAttention(64, 4, add_bias_kv=True),
    "LSTM": lambda: nn.LSTM(32, 48),
    "GRUCell": lambda: nn.GRUCell(32, 48),
    "Transformer": lambda: nn.Transformer(32, 2, 1, 1, dim_feedforward=64, batch_first=True),
}


@pytest.mark.parametrize("layer", list(KS_LAYERS))
def test_distribution_parity_with_torch_ks(layer):
    torch.manual_seed(0)
    theirs = KS_LAYERS[layer]()
    ours = KS_LAYERS[layer]()
    st.init_module_(ours, seed=0)
    tested = 0
    for (fqn, a), (_, b) in zip(theirs.named_parameters(), ours.named_parameters()):
        a, b = a.detach().numpy().ravel(), b.detach().numpy().ravel()
        if np.all(a == a[0]):  # a constant (zeros, ones): equal exactly
            assert np.array_equal(a, b), fqn
            continue
        if a.size < 200:
            continue
        p = stats.ks_2samp(a, b).pvalue
        assert p > KS_P_MIN, (fqn, p)
        tested += 1
    assert tested >= 1
