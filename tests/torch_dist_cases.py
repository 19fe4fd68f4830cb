"""DTensor cases for tests/test_torch_dtensor.py, run on torch.distributed's gloo backend in
spawned processes: ``python torch_dist_cases.py WORLD OUTDIR``. Each rank writes
``OUTDIR/rank<r>.json`` = {case: "ok" or the failure}. Every case compares ``full_tensor()`` with
the single-process fill of a plain tensor (never torch's RNG: on CPU meshes torch does not manage
DTensor RNG offsets, so each rank would draw the same local values)."""

from __future__ import annotations

import json
import os
import sys
import traceback

SEED = 1234

# (name, world, mesh shape, global shape, placements (as text), spec, dtype)
FILL_CASES = [
    ("shard0", 4, (4,), (8, 6), "S0", ("normal", {"std": 0.5}), "float32"),
    ("shard1", 4, (4,), (6, 8), "S1", ("kaiming_uniform", {"a": 5 ** 0.5}), "float32"),
    ("replicate", 4, (4,), (5, 3), "R", ("xavier_normal", {}), "float32"),
    ("uneven", 4, (4,), (10, 6), "S0", ("trunc_normal", {"std": 0.02, "a": -0.04, "b": 0.04}), "bfloat16"),
    ("empty_shard", 4, (4,), (5, 3), "S0", ("uniform", {"a": -1, "b": 1}), "float32"),
    ("two_empty", 4, (4,), (2, 3), "S0", ("normal", {}), "float16"),
    ("strided", 4, (4,), (16, 3), "SS0/2", ("normal", {}), "float32"),
    ("mesh2d_s0s1", 4, (2, 2), (8, 6), "S0,S1", ("xavier_uniform", {}), "float32"),
    ("mesh2d_s0s0", 4, (2, 2), (9, 5), "S0,S0", ("normal", {}), "float64"),
    ("mesh2d_strided", 4, (2, 2), (12, 6), "SS0/2,S0", ("kaiming_normal", {}), "float32"),
    ("mesh2d_strided_uneven", 4, (2, 2), (13, 6), "SS0/2,S0", ("normal", {}), "bfloat16"),
    ("mesh2d_rs1", 4, (2, 2), (4, 7), "R,S1", ("lecun_normal", {}), "float32"),
    ("mesh2d_s1r", 4, (2, 2), (4, 7), "S1,R", ("zeros", {}), "float32"),
    ("w2_uneven", 2, (2,), (3, 5), "S0", ("normal", {}), "float32"),
    ("w2_strided", 2, (2,), (8, 3), "SS0/2", ("uniform", {}), "float32"),
    ("w2_shard1", 2, (2,), (4, 9), "S1", ("trunc_normal", {"std": 0.02}), "bfloat16"),
]
MODEL_CASES = [
    ("partial_refused", 2),
    ("fsdp2_llama_like", 4),
    ("fsdp2_hf_llama", 2),
    ("tp_fsdp2_2x2", 4),
    ("fsdp2_w2", 2),
    ("fsdp2_hf_mamba", 2),
    ("weight_norm_sharded", 2),
    ("fsdp2_redrawn_map", 2),
]


def cases(world: int) -> list[str]:
    return [c[0] for c in FILL_CASES if c[1] == world] + [n for n, w in MODEL_CASES if w == world]


def _placements(text: str):
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.placement_types import _StridedShard

    out = []
    for p in text.split(","):
        if p == "R":
            out.append(Replicate())
        elif p.startswith("SS"):
            d, sf = p[2:].split("/")
            out.append(_StridedShard(int(d), split_factor=int(sf)))
        else:
            out.append(Shard(int(p[1:])))
    return out


def _fill_case(case, meshes):
    import torch
    import torch.distributed.tensor as tdt

    import sow.torch as st

    name, _, mesh_shape, gshape, pl, spec, dtype = case
    dt = getattr(torch, dtype)
    t = tdt.empty(gshape, device_mesh=meshes[mesh_shape], placements=_placements(pl), dtype=dt)
    st.fill_(t, spec, seed=SEED, key=name)
    ref = st.fill_(torch.empty(gshape, dtype=dt), spec, seed=SEED, key=name)
    full = t.full_tensor()
    assert torch.equal(full, ref), \
        f"{name}: full_tensor() differs from the single-process fill"


def _llama_like(vocab=37, dim=16, ffn=24, layers=2):
    """A Llama-shaped model in plain torch (torchtitan names): uneven vocab rows over 4 ranks."""
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.wq = nn.Linear(dim, dim, bias=False)
            self.wk = nn.Linear(dim, dim // 2, bias=False)
            self.wv = nn.Linear(dim, dim // 2, bias=False)
            self.wo = nn.Linear(dim, dim, bias=False)

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = nn.Linear(dim, ffn, bias=False)
            self.w2 = nn.Linear(ffn, dim, bias=False)
            self.w3 = nn.Linear(dim, ffn, bias=False)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_norm = nn.RMSNorm(dim)
            self.attention = Attention()
            self.ffn_norm = nn.RMSNorm(dim)
            self.feed_forward = FeedForward()

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embeddings = nn.Embedding(vocab, dim)
            self.layers = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.RMSNorm(dim)
            self.output = nn.Linear(dim, vocab, bias=False)

    with torch.device("meta"):
        return Model()


def _compare(model, ref, what):
    import torch
    from torch.distributed.tensor import DTensor

    ref_sd = dict(ref.named_parameters())
    n = 0
    for fqn, p in model.named_parameters():
        full = p.full_tensor() if isinstance(p, DTensor) else p
        assert torch.equal(full, ref_sd[fqn]), f"{what}: {fqn} differs from the unsharded model"
        n += 1
    assert n == len(ref_sd), what


def _fsdp2_hf(cls, cfg, layers, world, meshes):
    """A Hugging Face model built on meta, each layer and the whole under FSDP2, initialized with
    recipe="hf"; an unsharded reference the same way; and the sharded model's report."""
    import torch
    from torch.distributed.fsdp import fully_shard

    import sow.torch as st

    with torch.device("meta"):
        model, ref = cls(cfg), cls(cfg)
    for layer in layers(model):
        fully_shard(layer, mesh=meshes[(world,)])
    fully_shard(model, mesh=meshes[(world,)])
    report = st.init_module_(model, seed=SEED, recipe="hf", device="cpu")
    st.init_module_(ref, seed=SEED, recipe="hf", device="cpu")
    return model, ref, report


def _model_case(name, world, meshes):
    import torch
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    import sow.torch as st

    if name == "partial_refused":
        import torch.distributed.tensor as tdt
        from torch.distributed.tensor import Partial

        t = tdt.zeros((4, 4), device_mesh=meshes[(world,)], placements=[Partial()])
        try:
            st.fill_(t, "normal", seed=SEED, key="p")
        except ValueError as e:
            assert "Partial" in str(e), str(e)
            assert torch.count_nonzero(t.to_local()) == 0, "written before the refusal"
            return
        raise AssertionError("a Partial DTensor was filled")
    if name in ("fsdp2_llama_like", "fsdp2_w2"):
        for recipe in ("torch", "torchtitan_llama3"):
            model = _llama_like()
            for block in model.layers:
                fully_shard(block, mesh=meshes[(world,)])
            fully_shard(model, mesh=meshes[(world,)])
            st.init_module_(model, seed=SEED, recipe=recipe, device="cpu")
            ref = _llama_like()
            st.init_module_(ref, seed=SEED, recipe=recipe, device="cpu")
            _compare(model, ref, f"{name}/{recipe}")
        return
    if name == "fsdp2_hf_llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = LlamaConfig(vocab_size=37, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, pad_token_id=0,
                          tie_word_embeddings=False)
        model, ref, _ = _fsdp2_hf(LlamaForCausalLM, cfg, lambda m: m.model.layers, world, meshes)
        _compare(model, ref, name)
        for fqn, b in ref.named_buffers():
            assert torch.equal(dict(model.named_buffers())[fqn], b), f"{name}: buffer {fqn}"
        return
    if name == "fsdp2_hf_mamba":
        # Init code that computes values elementwise from draws (the time-step bias from
        # torch.rand, A_log from arange): each rank maps its own shard.
        from transformers import MambaConfig, MambaForCausalLM

        cfg = MambaConfig(vocab_size=37, hidden_size=16, num_hidden_layers=2, state_size=4,
                          expand=2, pad_token_id=0)
        model, ref, r = _fsdp2_hf(MambaForCausalLM, cfg, lambda m: m.backbone.layers, world,
                                  meshes)
        assert r["backbone.layers.0.mixer.dt_proj.bias"].spec.endswith(" + 1 writes"), r.tensors
        _compare(model, ref, name)
        return
    if name == "weight_norm_sharded":
        # A weight norm's g is the norm of v's fill: each rank computes its own entries of g from
        # the slices of v they need, however v and g are sharded (g over dim 2 lives on one rank
        # under FSDP2; v over Shard(1) holds none of a whole row of v).
        import torch.distributed.tensor as tdt
        from torch.distributed.tensor import Shard

        def build():
            wn = torch.nn.utils.parametrizations.weight_norm
            return torch.nn.Sequential(wn(torch.nn.Conv1d(4, 6, 3), dim=2),
                                       wn(torch.nn.Linear(5, 7)),
                                       wn(torch.nn.Conv1d(3, 5, 2), dim=1))
        with torch.device("meta"):
            model, ref = build(), build()
        for m in model:
            fully_shard(m, mesh=meshes[(world,)])
        fully_shard(model, mesh=meshes[(world,)])
        r = st.init_module_(model, seed=SEED, device="cpu")
        st.init_module_(ref, seed=SEED, device="cpu")
        assert r["0.parametrizations.weight.original0"].spec.startswith("norm of "), r.tensors
        _compare(model, ref, name)
        manual = build().to_empty(device="cpu")
        for plist, placements in ((manual[0].parametrizations.weight, (Shard(1), Shard(2))),
                                  (manual[1].parametrizations.weight, (Shard(1), Shard(0)))):
            for attr, pl in zip(("original1", "original0"), placements):
                old = getattr(plist, attr)
                setattr(plist, attr, torch.nn.Parameter(tdt.empty(
                    old.shape, device_mesh=meshes[(world,)], placements=[pl])))
        st.init_module_(manual, seed=SEED)
        _compare(manual, ref, name + " (v over Shard(1))")
        return
    if name == "fsdp2_redrawn_map":
        # A float32 torch.rand mapped into a bfloat16 parameter: each rank draws its own rows
        # again in float32 (uneven: 5 rows on 2 ranks) and maps them.
        class HalfDraws(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.dt_bias = torch.nn.Parameter(torch.empty(5, 8, dtype=torch.bfloat16))
                self.reset_parameters()

            def reset_parameters(self):
                with torch.no_grad():
                    dt = torch.exp(torch.rand(5, 8, device=self.dt_bias.device) * 5.0 - 7.0)
                    self.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        with torch.device("meta"):
            model, ref = HalfDraws(), HalfDraws()
        fully_shard(model, mesh=meshes[(world,)])
        st.init_module_(model, seed=SEED, device="cpu")
        st.init_module_(ref, seed=SEED, device="cpu")
        _compare(model, ref, name)
        return
    if name == "tp_fsdp2_2x2":
        from torch.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                       parallelize_module)

        mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp", "tp"))
        model = _llama_like(vocab=38, dim=16, ffn=24)
        for block in model.layers:
            parallelize_module(block, mesh["tp"], {
                "attention.wq": ColwiseParallel(), "attention.wk": ColwiseParallel(),
                "attention.wv": ColwiseParallel(), "attention.wo": RowwiseParallel(),
                "feed_forward.w1": ColwiseParallel(), "feed_forward.w3": ColwiseParallel(),
                "feed_forward.w2": RowwiseParallel()})
            fully_shard(block, mesh=mesh["dp"])
        fully_shard(model, mesh=mesh["dp"])
        placements = {str(tuple(p.placements)) for p in model.parameters()}
        assert any("_StridedShard" in s for s in placements), placements
        st.init_module_(model, seed=SEED, recipe="torchtitan_llama3", device="cpu")
        ref = _llama_like(vocab=38, dim=16, ffn=24)
        st.init_module_(ref, seed=SEED, recipe="torchtitan_llama3", device="cpu")
        _compare(model, ref, name)
        return
    raise AssertionError(f"unknown case {name}")


def _worker(rank: int, world: int, outdir: str) -> None:
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh

    import logging

    torch.set_num_threads(1)
    logging.getLogger("torch.distributed").setLevel(logging.ERROR)  # redistribution notices
    dist.init_process_group("gloo", init_method=f"file://{outdir}/store", rank=rank,
                            world_size=world)
    results = {}
    try:
        meshes = {(world,): init_device_mesh("cpu", (world,))}
        if world == 4:
            meshes[(2, 2)] = init_device_mesh("cpu", (2, 2))
        import warnings

        warnings.simplefilter("ignore")  # DTensor's "random operators on cpu" notices
        for case in FILL_CASES:
            if case[1] == world:
                results[case[0]] = _run(lambda: _fill_case(case, meshes))
        for name, w in MODEL_CASES:
            if w == world:
                results[name] = _run(lambda: _model_case(name, world, meshes))
    finally:
        with open(os.path.join(outdir, f"rank{rank}.json"), "w") as f:
            json.dump(results, f)
        dist.destroy_process_group()


def _run(fn) -> str:
    try:
        fn()
        return "ok"
    except ModuleNotFoundError as e:
        if e.name == "transformers":
            return "skip: transformers is not installed"
        return traceback.format_exc(limit=6)
    except Exception:  # noqa: BLE001 - reported to the parent test
        return traceback.format_exc(limit=6)


if __name__ == "__main__":
    import torch.multiprocessing as mp

    world, outdir = int(sys.argv[1]), sys.argv[2]
    mp.spawn(_worker, args=(world, outdir), nprocs=world, join=True)
