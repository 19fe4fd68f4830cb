"""A plan allocates what its sparse items need (their columns' thresholds, one staging buffer for
all their zeros) before it writes any item: when that allocation fails (RLIMIT_AS in a child
process), every output of the plan is untouched, elementwise items and earlier sparse items
included; with the memory back, the same plan gives the single calls' values."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from child_prelude import VM_PRELUDE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="uses /proc and RLIMIT_AS")

_CHILD = VM_PRELUDE + """
w = np.full((64, 64), 7.0, np.float32)
small = np.full((16, 8), 7.0, np.float32)
big = np.full((8, 256), 7.0, np.float32)
outs = (w, small, big)
before = [o.tobytes() for o in outs]
plan = sow.Plan(seed=0)
plan.add(w, ("normal", {"std": 0.02}), key="w")
plan.add(small, ("sparse", {"sparsity": 0.5}), key="s")
# 256 columns of 2^20 rows: ~18 MiB of window pairs for the thresholds
plan.add(big, ("sparse", {"sparsity": 0.5}), key="b", global_shape=(1 << 20, 256),
         shard=[slice(3, 11)])
plan.validate()
sow.normal((4, 4), seed=0)  # the pool and the kernels warmed up before the limit
resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + (4 << 20), resource.RLIM_INFINITY))
try:
    plan.execute(threads=1)
    print("no error")
except MemoryError:
    print("MemoryError")
resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
print("unchanged" if [o.tobytes() for o in outs] == before else "changed")
plan.execute(threads=1)
want = [sow.normal((64, 64), 0.0, 0.02, seed=0, key="w"),
        sow.sparse((16, 8), 0.5, seed=0, key="s"),
        sow.sparse((1 << 20, 256), 0.5, seed=0, key="b", shard=[slice(3, 11)])]
print("equal" if all(o.tobytes() == x.tobytes() for o, x in zip(outs, want)) else "different")
"""


def test_sparse_allocation_failure_leaves_every_output_untouched():
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, f"child exited with {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    assert r.stdout.split() == ["MemoryError", "unchanged", "equal"]
