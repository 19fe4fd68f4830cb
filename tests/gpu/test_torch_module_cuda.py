"""sow.torch.init_module_ on a CUDA device (docs/torch.md): a model built on meta and
materialized on the GPU gets the bits the same model gets on the CPU, for every spec (one
launch per stream for the elementwise items), the padding row, a weight norm's g (computed on the
host, copied) and the buffers; a value mapped from a draw (torch ops on the local tensor) to
float32 rounding, since CUDA's exp/log are not the CPU's. Skipped without a CUDA build of sow, a
device, or a CUDA build of torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # pragma: no cover - the GPU machine has it
    pytest.skip("torch has no CUDA device", allow_module_level=True)

from torch import nn  # noqa: E402

import sow.torch as st  # noqa: E402

DEVICE = "cuda"
MAPPED = {"dt_bias"}  # torch ops on the device: compared to float32 rounding


class Mixed(nn.Module):
    """Every kind of write init_module_ does: specs, a padding row, a weight norm's g, a
    deterministic buffer, a draw mapped into a bfloat16 parameter."""

    def __init__(self, dtype):
        super().__init__()
        self.embed = nn.Embedding(50, 16, padding_idx=3, dtype=dtype)
        self.norm = nn.LayerNorm(16, dtype=dtype)
        self.up = nn.Linear(16, 40, dtype=dtype)
        self.conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(16, 16, 5, groups=4,
                                                                    dtype=dtype), dim=2)
        self.dt_bias = nn.Parameter(torch.empty(40, dtype=torch.bfloat16))
        self.register_buffer("inv_freq", torch.empty(8))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            dev = self.dt_bias.device
            dt = torch.exp(torch.rand(40, device=dev) * 5.0 - 7.0)
            self.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            self.inv_freq.copy_(1.0 / 10000 ** (torch.arange(0, 16, 2, device=dev) / 16))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_init_module_on_cuda_equals_the_cpu(dtype):
    with torch.device("meta"):
        gpu, cpu = Mixed(dtype), Mixed(dtype)
    st.init_module_(gpu, seed=21, device=DEVICE)
    st.init_module_(cpu, seed=21, device="cpu")
    got, want = gpu.state_dict(), cpu.state_dict()
    assert got.keys() == want.keys()
    for k, v in want.items():
        g = got[k]
        assert g.device.type == torch.device(DEVICE).type and g.dtype == v.dtype, k
        if k in MAPPED:
            torch.testing.assert_close(g.cpu().float(), v.float(), rtol=2 ** -8, atol=0)
        else:
            assert torch.equal(g.cpu(), v), k
    assert not gpu.embed.weight[3].any()


def test_hf_llama_on_cuda_equals_the_cpu():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=48,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, pad_token_id=1)
    with torch.device("meta"):
        gpu = transformers.LlamaForCausalLM(cfg)
        cpu = transformers.LlamaForCausalLM(cfg)
    st.init_module_(gpu, seed=3, recipe="hf", device=DEVICE)
    st.init_module_(cpu, seed=3, recipe="hf", device="cpu")
    for (k, g), (_, v) in zip(gpu.state_dict().items(), cpu.state_dict().items()):
        if k.endswith("inv_freq"):  # the model's own code on each device
            torch.testing.assert_close(g.cpu(), v)
        else:
            assert torch.equal(g.cpu(), v), k
