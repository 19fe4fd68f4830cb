# Type stub for the compiled extension sow._core (cpp/src/bindings.cpp); contract in
# docs/design.md. Private: use the sow package.
import numpy as np
import numpy.typing as npt

STREAM_FORMAT: int

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
def bits(seed: int, key: int, domain: int, start: int, count: int) -> npt.NDArray[np.uint32]: ...
def philox4x32(
    ctr: tuple[int, int, int, int], key: tuple[int, int], rounds: int = 10
) -> tuple[int, int, int, int]: ...
def key_hash(s: str) -> int: ...
def isa() -> str: ...
def available_isas() -> list[str]: ...
def set_isa(name: str) -> None: ...
def hardware_threads() -> int: ...
