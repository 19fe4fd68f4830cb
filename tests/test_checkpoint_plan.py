"""A sow.Plan as a checkpoint source: the same bytes as the list of tensors it was built from."""

from __future__ import annotations

import os

import pytest

import sow
import sow.checkpoint as ck

TENSORS = [
    ("embed.weight", (64, 16), "bfloat16", ("normal", {"std": 0.02})),
    ("layers.0.w", (16, 16), "float32", ("kaiming_uniform", {"a": 5 ** 0.5})),
    ("layers.0.norm", (16,), "bfloat16", "ones"),
    ("head.eye", (16, 8), "float16", "eye"),
]


def _files(d):
    out = {}
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            out[f] = fh.read()
    return out


def test_plan_source_equals_list_source(tmp_path):
    plan = sow.Plan(seed=5)
    for name, shape, dtype, spec in TENSORS:
        plan.add_buffer(shape, dtype, spec, key=name, name=name)
    it = plan.item(1)
    assert (it["name"], it["shape"], it["dtype"], it["spec"]) == ("layers.0.w", (16, 16), "float32",
                                                                   "kaiming_uniform")
    assert it["key"] == sow.key_hash("layers.0.w") and it["params"] == {"a": 5 ** 0.5}
    ck.write(plan, tmp_path / "p", seed=5, recipe="mine", progress=False)
    ck.write(TENSORS, tmp_path / "l", seed=5, recipe="mine", progress=False)
    assert _files(tmp_path / "p") == _files(tmp_path / "l")  # byte for byte, headers included
    assert ck.verify(tmp_path / "p", seed=5).ok


def test_plan_source_refusals(tmp_path):
    plan = sow.Plan(seed=1)
    plan.add_buffer((4, 4), "float32", "normal", key="w", name="w")
    with pytest.raises(ValueError, match="seed=2 differs"):
        ck.write(plan, tmp_path / "a", seed=2, progress=False)
    shard = sow.Plan(seed=1)
    shard.add_buffer((2, 4), "float32", "normal", key="w", name="w", global_shape=(4, 4),
                     shard=[slice(2, 4)])
    with pytest.raises(ValueError, match=r"items\[0\] \(w\): a checkpoint stores whole tensors"):
        ck.write(shard, tmp_path / "b", seed=1, progress=False)
    nameless = sow.Plan(seed=1)
    nameless.add_buffer((4,), "float32", "zeros", key=3)
    with pytest.raises(ValueError, match="by name"):
        ck.write(nameless, tmp_path / "c", seed=1, progress=False)
    assert not any((tmp_path / d).exists() and os.listdir(tmp_path / d) for d in "abc")
    with pytest.raises(IndexError):
        plan.item(5)
