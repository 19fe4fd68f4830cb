"""Threads and resource limits: the library's one thread pool (cpp/src/thread_pool.hpp).

* A worker thread that cannot be started (address-space or pids limit) degrades the call to fewer
  threads: the child process exits normally and its bits equal a threads=1 fill. Before the pool,
  ``std::thread`` per call: std::terminate (SIGABRT) once some threads had started, or a
  RuntimeError for a legal call.
* The pool is bounded (at most hardware_threads() - 1 workers, whatever ``threads`` asks).
* Concurrent callers (Python threads, GIL released), fork() after a threaded fill, and the pool's
  own contract (every item once, exceptions rethrown, nesting inline, many callers) under
  ThreadSanitizer where the compiler has it (tests/c/pool_stress.cpp).

Every child process runs under a timeout and must not die by a signal.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sow
from sow import _core

ROOT = Path(__file__).resolve().parents[1]
CXX = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")

FILL_N = 1 << 24  # the reproducer: sow.uniform_(np.zeros(1 << 24, np.float32), seed=0, threads=512)
ORTH = (2048, 2048)  # sow.orthogonal((2048, 2048), seed=0, threads=2000)


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).data).hexdigest()


@pytest.fixture(scope="module")
def reference() -> dict[str, str]:
    a = np.zeros(FILL_N, np.float32)
    sow.uniform_(a, seed=0, threads=1)
    return {"fill": _sha(a), "orthogonal": _sha(sow.orthogonal(ORTH, seed=0, threads=1))}


def _child(code: str, stack_mib: int | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter, with RLIMIT_STACK = stack_mib (which sets every thread's
    stack reservation) set by a single-threaded launcher that then exec()s it."""
    cmd = [sys.executable, "-c", code]
    if stack_mib is not None:
        launcher = textwrap.dedent(f"""\
            import os, resource, sys
            hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
            resource.setrlimit(resource.RLIMIT_STACK, ({stack_mib << 20}, hard))
            os.execv(sys.executable, {cmd!r})
            """)
        cmd = [sys.executable, "-c", launcher]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode >= 0, f"child killed by signal {-r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert "terminate called" not in r.stderr, r.stderr[-2000:]
    return r


def _stack_limit_allows(stack_mib: int | None) -> None:
    if stack_mib is None:
        return
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    if hard != resource.RLIM_INFINITY and hard < stack_mib << 20:
        pytest.skip(f"RLIMIT_STACK hard limit {hard} < {stack_mib} MiB")


# The child allocates its output and warms OpenBLAS (its per-thread buffer) on the main thread,
# then leaves HEADROOM MiB of address space under RLIMIT_AS and makes the reproducer's call.
LIMITED_CALL = """\
import hashlib, resource, numpy as np, sow
from sow import _core
a = np.zeros({fill_n}, np.float32)
o = np.zeros({orth}, np.float32)
sow.orthogonal((64, 64), seed=0)
vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + ({headroom} << 20),) * 2)
if {kind!r} == "fill":
    sow.uniform_(a, seed=0, threads=512)
else:
    sow.orthogonal_(o, seed=0, threads=2000)
out = a if {kind!r} == "fill" else o
print(hashlib.sha256(out.data).hexdigest(), _core.pool_workers())
"""

# (RLIMIT_STACK MiB or None for the default, MiB of address space left)
SCENARIOS = {
    "default-stacks": (None, 768),  # the setting: room for some 8 MiB stacks, not 255
    "no-worker-fits": (1024, 64),   # 1 GiB per stack, 64 MiB left: every worker start fails
    "two-fit": (256, 640),          # two workers fit, the rest fail
}


@linux_only
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind", ["fill", "orthogonal"])
def test_thread_start_failure_degrades(reference, kind, scenario):
    stack_mib, headroom = SCENARIOS[scenario]
    _stack_limit_allows(stack_mib)
    code = LIMITED_CALL.format(fill_n=FILL_N, orth=ORTH, headroom=headroom, kind=kind)
    r = _child(code, stack_mib)
    assert r.returncode == 0, r.stderr[-3000:]
    digest, workers = r.stdout.split()
    assert digest == reference[kind]
    assert int(workers) <= max(1, _core.hardware_threads()) - 1
    if scenario == "no-worker-fits":
        assert int(workers) == 0  # the path under test was taken: no worker could start


@linux_only
def test_pids_limit_degrades(reference):
    """RLIMIT_NPROC = 0: no new thread (a task) may start at all. Root is exempt from the limit, so
    a root child first drops to uid/gid 65534 (after its imports)."""
    code = textwrap.dedent(f"""\
        import hashlib, os, resource, numpy as np, sow
        from sow import _core
        a = np.zeros({FILL_N}, np.float32)
        sow.orthogonal((64, 64), seed=0)
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        sow.uniform_(a, seed=0, threads=512)
        o = sow.orthogonal({ORTH}, seed=0, threads=2000)
        print(hashlib.sha256(a.data).hexdigest(), hashlib.sha256(o.data).hexdigest(), _core.pool_workers())
        """)
    r = _child(code)
    assert r.returncode == 0, r.stderr[-3000:]
    fill, orth, workers = r.stdout.split()
    assert (fill, orth, int(workers)) == (reference["fill"], reference["orthogonal"], 0)


def test_pool_is_bounded():
    """threads=512 splits the work 256 ways but never holds more workers than hardware threads."""
    a = np.zeros(1 << 22, np.float32)
    sow.uniform_(a, seed=3, threads=512)
    sow.orthogonal_(np.zeros((512, 512), np.float32), seed=3, threads=2000)
    assert 0 <= _core.pool_workers() <= max(1, _core.hardware_threads()) - 1
    b = np.zeros(1 << 22, np.float32)
    sow.uniform_(b, seed=3, threads=1)
    assert a.tobytes() == b.tobytes()


CONCURRENT = """\
import threading, numpy as np, sow
SIZES = [1, 5, 4096, 70000, 1 << 18, (1 << 18) + 3]
THREADS = [1, 2, 3, None, 64]
ref = {{n: sow.normal((n,), seed=n, key=7, threads=1) for n in SIZES}}
oref = {{n: sow.orthogonal((n, n), seed=n, threads=1) for n in (64, 300)}}
bad = []
def filler(w):
    for k in range(40):
        n = SIZES[(w + k) % len(SIZES)]
        out = np.empty(n, np.float32)
        sow.normal_(out, seed=n, key=7, threads=THREADS[(w * 3 + k) % len(THREADS)])
        if out.tobytes() != ref[n].tobytes():
            bad.append(("fill", w, k, n))
def orth(w):
    for k in range(6):
        n = (64, 300)[(w + k) % 2]
        q = sow.orthogonal((n, n), seed=n, threads=(2, 3, None)[k % 3])
        if q.tobytes() != oref[n].tobytes():
            bad.append(("orthogonal", w, k, n))
ts = [threading.Thread(target=filler, args=(w,)) for w in range({fillers})]
ts += [threading.Thread(target=orth, args=(w,)) for w in range(2)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", bad)
"""


def test_concurrent_callers_get_the_same_bits():
    """Python threads (the GIL is released while filling) share the pool with mixed thread counts
    and sizes; each call's bits equal its threads=1 fill. In a child process: a deadlock would be
    a timeout here, not a hung test run."""
    r = _child(CONCURRENT.format(fillers=8), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "bad []"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_after_threaded_fill():
    """The child of a fork() has none of the parent's workers: it starts a fresh pool (the old one's
    mutex may have been held at the fork) and its threaded fills still complete, with the same
    bits."""
    code = textwrap.dedent("""\
        import os, signal, numpy as np, sow
        from sow import _core
        n = 1 << 20
        ref = sow.uniform((n,), seed=1, threads=1)
        a = sow.uniform((n,), seed=1, threads=4)
        assert a.tobytes() == ref.tobytes()
        pid = os.fork()
        if pid == 0:
            signal.alarm(60)  # a hang ends the child by SIGALRM
            fresh = _core.pool_workers()
            b = sow.uniform((n,), seed=1, threads=4)
            os._exit(0 if fresh == 0 and b.tobytes() == ref.tobytes() else 1)
        _, status = os.waitpid(pid, 0)
        print("child", status)
        """)
    r = _child(code)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "child 0"


# ------------------------------------------------------------------------------------------------
# The pool itself, under a sanitizer

SAN_REPORT = re.compile(r"ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error:")


def _try_build(flags: list[str], exe: Path) -> bool:
    srcs = [ROOT / "tests" / "c" / "pool_stress.cpp", ROOT / "cpp" / "src" / "thread_pool.cpp"]
    cmd = [CXX, "-std=c++20", "-O1", "-g", *flags, f"-I{ROOT / 'cpp' / 'include'}", f"-I{ROOT / 'cpp' / 'src'}",
           *map(str, srcs), "-pthread", "-o", str(exe)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        probe = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    except (subprocess.SubprocessError, OSError):
        return False
    # A sanitizer that cannot run here (e.g. no ptrace, address-space layout) fails before main.
    return "workers" in probe.stdout


@pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")
def test_pool_contract_under_sanitizer(tmp_path):
    """tests/c/pool_stress.cpp: every item exactly once (counts 1..10007, threads 0..1000), the
    first exception rethrown on the caller with no item run twice, nested calls inline, 12 callers
    x 300 small jobs at once; with hardware_threads() = 8 so the pool has 7 workers."""
    exe = tmp_path / "pool_stress"
    for flags in (["-fsanitize=thread"], ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"], []):
        if _try_build(flags, exe):
            break
    else:
        pytest.fail("could not build tests/c/pool_stress.cpp")
    for _ in range(3):
        r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
        assert r.returncode >= 0, f"killed by signal {-r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
        assert not SAN_REPORT.search(r.stderr), r.stderr[-6000:]
        assert "FAIL" not in r.stdout and r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert r.stdout.strip() == "workers 7 failures 0"


# ------------------------------------------------------------------------------------------------
# Outputs whose bits would depend on the thread count: overlapping elements are refused
# (sow/detail/layout.hpp check_memory, shared by Python, C++, the C ABI and the CUDA launchers).

SENTINEL = np.float32(-7.25)


def _view(shape: tuple[int, ...], strides: tuple[int, ...], item: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A writable view with element `strides` over a sentinel-filled base (negative strides start
    the view at the right place)."""
    lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
    hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides))
    base = np.full(hi - lo + 1, SENTINEL, np.float32)
    start = base[-lo:]
    v = np.lib.stride_tricks.as_strided(start, shape, tuple(s * item for s in strides), writeable=True)
    return base, v


OVERLAPPING = [  # (shape, strides in elements)
    ((1 << 18, 2), (1, 1)),  # the reproducer
    ((4, 2), (1, 1)),
    ((4, 2), (1, -1)),
    ((2, 3), (2, 1)),
    ((3, 2), (2, 3)),  # distinct elements, but interleaved extents: refused by the rule
    ((2, 2, 2), (4, 1, 1)),
    ((5,), (0,)),
    ((3, 4), (0, 1)),
]


@pytest.mark.parametrize("shape,strides", OVERLAPPING, ids=[f"{s}-{t}" for s, t in OVERLAPPING])
@pytest.mark.parametrize("threads", [1, 2])
def test_overlapping_output_refused(shape, strides, threads):
    base, v = _view(shape, strides)
    word = "zero stride" if 0 in strides else "elements overlap"
    with pytest.raises(ValueError, match=rf"^out\b.*{word}"):
        sow.uniform_(v, seed=0, threads=threads)
    with pytest.raises(ValueError, match=rf"^out\b.*{word}"):
        sow.zeros_(v)
    # _core on its own (the C++ engine is not only called through check_out).
    with pytest.raises(ValueError, match=rf"^out\b.*{word}"):
        _core.fill(v.__array_interface__["data"][0], "float32", v.shape, v.strides, v.shape, (0,) * v.ndim,
                   "uniform", (0.0, 1.0), 0, 0, threads)
    assert np.all(base == SENTINEL)


@pytest.mark.parametrize("shape,strides", [s for s in OVERLAPPING if 0 not in s[1]][1:],
                         ids=[f"{s}-{t}" for s, t in OVERLAPPING if 0 not in t][1:])
def test_overlapping_torch_output_refused(shape, strides):
    torch = pytest.importorskip("torch")
    lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
    if lo < 0:
        pytest.skip("torch.as_strided takes no negative strides")
    base = torch.full((64,), float(SENTINEL))
    v = torch.as_strided(base, shape, strides)
    with pytest.raises(ValueError, match=r"^out\b.*elements overlap"):
        sow.normal_(v, seed=0)
    assert bool((base == float(SENTINEL)).all())


LEGAL = [  # distinct elements in unusual layouts: filled exactly as the contiguous tensor
    ((6, 5), (5, 1)),
    ((6, 5), (1, 6)),  # transposed
    ((6, 5), (-5, 1)),  # reversed rows
    ((6, 5), (-10, -2)),  # reversed, with gaps
    ((3, 4, 2), (1, 3, 12)),  # column-major
    ((2, 3), (1, 2)),  # interleaved: offsets 0, 2, 4, 1, 3, 5 (the faster dimension spans 8 bytes = the slower stride)
    ((4, 1, 3), (3, 0, 1)),  # zero stride on a size-1 dimension is fine
]


@pytest.mark.parametrize("shape,strides", LEGAL, ids=[f"{s}-{t}" for s, t in LEGAL])
@pytest.mark.parametrize("threads", [1, 3])
def test_distinct_layouts_accepted(shape, strides, threads):
    base, v = _view(shape, strides)
    sow.uniform_(v, seed=5, key=1, threads=threads)
    np.testing.assert_array_equal(v, sow.uniform(shape, seed=5, key=1))
    touched = np.count_nonzero(base != SENTINEL)
    assert touched == v.size  # nothing outside the view's elements
