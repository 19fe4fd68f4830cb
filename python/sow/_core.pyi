# Type stub for the compiled extension sow._core (cpp/src/bindings/: module.cpp and one
# register_<area>.cpp per area); contract in docs/design.md. Private: use the sow package.
import numpy as np
import numpy.typing as npt

STREAM_FORMAT: int
# register_config.cpp: the version (sow/config.hpp's SOW_VERSION_*), build facts, the pool's limit.
__version__: str
VERSION: tuple[int, int, int]
MAX_THREADS: int
BUILD: dict[str, str | int]  # compiler, cplusplus, build_type, cuda_architectures

def fill(
    addr: int,
    dtype: str,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    global_shape: tuple[int, ...],
    offsets: tuple[int, ...],
    dist: str,
    params: tuple[float, ...],
    seed: int,
    key: int,
    threads: int,
    domain: int = 0,
) -> None: ...
def check_dist(dtype: str, dist: str, params: tuple[float, ...], domain: int = 0) -> None:
    """The engine's checks of ``fill`` for ``dist(params)`` into ``dtype`` (parameters, their
    range for the dtype, the domain), touching no memory: ValueError as ``fill`` would raise."""
    """Every check of an orthogonal call (sow::plan_orthogonal), nothing written; address 0 (a
    meta tensor) is checked as if it were memory."""
def check_orthogonal_gain(gain: float, dtype: str, name: str = "gain") -> None:
    """orthogonal's gain rule (sow::check_orthogonal_gain): ValueError naming ``name`` when
    ``gain`` is not finite or its values would overflow ``dtype``."""
def values_of_words(
    dtype: str, dist: str, params: tuple[float, ...], words: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Test hook: the working-precision value of ``dist(params)`` for a ``dtype`` output at each
    stream word (uint32; float64: the 64-bit pair word(2g) + 2**32 word(2g+1))."""
def bits(seed: int, key: int, domain: int, start: int, count: int) -> npt.NDArray[np.uint32]: ...
def philox4x32(
    ctr: tuple[int, int, int, int], key: tuple[int, int], rounds: int = 10
) -> tuple[int, int, int, int]: ...
def key_hash(s: str) -> int: ...
def isa() -> str: ...
def available_isas() -> list[str]: ...
def set_isa(name: str) -> None: ...
def hardware_threads() -> int: ...
def check_layout(addr: int, item: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> None: ...
def pool_workers() -> int: ...

# Initializer formulas (register_init.cpp over sow/init.hpp); ValueError with Python's
# messages for bad values.
TRUNCATED_NORMAL_STD: float
#: Intervals lying on one side of the mean with the nearer bound further than this many stds
#: away are refused (Phi of that bound underflows float64).
TRUNC_NORMAL_MAX_SIGMAS: float
def init_dist(
    name: str,
    global_shape: tuple[int, ...],
    args: tuple[float | str, ...],
    fan_in: int | None = None,
    fan_out: int | None = None,
    layout: str = "torch",
    dtype: str | None = None,
) -> tuple[str, tuple[float, ...]]: ...
def calculate_gain(nonlinearity: str, param: float | None = None) -> float: ...
def calculate_fan_in_and_fan_out(shape: tuple[int, ...], layout: str = "torch") -> tuple[int, int]: ...
# uint64 thresholds of columns [c0, c0 + nc); sigmas/cap: test hooks of the selection.
def sparse_thresholds(
    global_shape: tuple[int, ...], c0: int, nc: int, sparsity: float, seed: int, key: int,
    sigmas: float = 8.0, cap: int = -1,
) -> npt.NDArray[np.uint64]: ...

# CUDA (present when built with nvcc; has_cuda says so). stream: cudaStream_t as int (0 = legacy
# default stream); device: CUDA ordinal of the output. Without a device: RuntimeError("no CUDA
# device: ...") after argument validation.
has_cuda: bool
def cuda_device_count() -> int: ...
def cuda_unavailable_reason() -> str: ...
def fill_cuda(
    addr: int,
    dtype: str,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    global_shape: tuple[int, ...],
    offsets: tuple[int, ...],
    dist: str,
    params: tuple[float, ...],
    seed: int,
    key: int,
    domain: int,
    stream: int,
    device: int,
) -> None: ...
def sparse_keys_cuda(
    addr: int, rows: int, cols: int, c0: int, nc: int, seed: int, key: int, stream: int, device: int
) -> None: ...
def orthogonal_cuda(
    addr: int,
    dtype: str,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    gain: float,
    seed: int,
    key: int,
    blocks: int,
    stream: int,
    device: int,
) -> None: ...
# cuSOLVER is loaded at run time, on the first orthogonal_cuda call (RuntimeError when not found).
def cusolver_info() -> str: ...
def cusolver_add_search_dir(dir: str) -> None: ...

has_lapack: bool

def lapack_info() -> str: ...

# Every public single-tensor call (register_run.cpp, sow::run_item): a one-item plan; the plan's
# checks with unprefixed messages (ValueError), then, when write, its writes. where: "host" |
# "device" (CUDA memory of `device`, on `stream`) | "none" (checked only). Returns (resolved
# spec, bytes).
def run_item(
    where: str,
    addr: int,
    dtype: str,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    global_shape: tuple[int, ...],
    offsets: tuple[int, ...],
    spec: str,
    params: dict[str, float | int | str],
    key: int,
    seed: int,
    threads: int,
    write: bool,
    device: int = -1,
    stream: int = 0,
) -> tuple[str, int]: ...
