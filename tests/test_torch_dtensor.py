"""sow.torch on DTensors, on torch.distributed's gloo backend: 2 and 4 spawned CPU processes
(tests/torch_dist_cases.py), each job bounded by a timeout.

For every placement (Shard(0), Shard(1), Replicate, uneven and empty shards, _StridedShard,
2-D meshes) ``full_tensor()`` after ``sow.torch.fill_`` equals, bit for bit, the single-process
fill of the plain tensor; Partial is refused before anything is written; a Llama-shaped model
(plain torch, torchtitan names; and a tiny Hugging Face Llama) under FSDP2 built on meta, then
``init_module_(device="cpu")``, equals the unsharded model, as does TP + FSDP2 on a (2, 2) mesh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():  # pragma: no cover
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import torch_dist_cases as cases  # noqa: E402

TIMEOUT_S = 240  # per job (all cases of one world size); each takes ~25 s on the 2-core CI box


def _run(world: int, tmp: Path) -> dict[str, list[str]]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    try:
        r = subprocess.run([sys.executable, str(HERE / "torch_dist_cases.py"), str(world), str(tmp)],
                           capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the {world}-rank job ran past {TIMEOUT_S} s:\n{e.stderr}")
    per_rank = []
    for rank in range(world):
        f = tmp / f"rank{rank}.json"
        if not f.exists():
            pytest.fail(f"rank {rank} wrote no results (exit {r.returncode}):\n{r.stderr[-4000:]}")
        per_rank.append(json.loads(f.read_text()))
    return {c: [res.get(c, "not run") for res in per_rank] for c in cases.cases(world)}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cache: dict[int, dict[str, list[str]]] = {}

    def get(world: int) -> dict[str, list[str]]:
        if world not in cache:
            cache[world] = _run(world, tmp_path_factory.mktemp(f"gloo{world}"))
        return cache[world]

    return get


@pytest.mark.parametrize("world,case", [(w, c) for w in (2, 4) for c in cases.cases(w)])
def test_dtensor_case(results, world, case):
    got = results(world)[case]
    if all(msg.startswith("skip:") for msg in got):
        pytest.skip(got[0][5:].strip())
    bad = [f"rank {r}: {msg}" for r, msg in enumerate(got) if msg != "ok"]
    assert not bad, "\n".join(bad)
