"""The Hugging Face on-disk layout, byte for byte: safetensors headers, shard split, index.

safetensors file (the format spec; the Rust writer ``safetensors::tensor::prepare``):

* 8 bytes: ``n``, the header length, unsigned little-endian;
* ``n`` bytes: compact JSON ``{"__metadata__": {...}, name: {"dtype": "BF16", "shape": [...],
  "data_offsets": [begin, end]}, ...}``, padded with spaces to a multiple of 8;
* the tensors' bytes, C-contiguous little-endian, back to back: offsets are relative to the end
  of the header.

Tensors are ordered as the Rust writer orders them: by dtype, descending in its ``Dtype``
enumeration (F64 > F32 > BF16 > F16 for the dtypes sow writes), then by name (byte order).

Shards follow huggingface_hub's ``split_state_dict_into_shards_factory``: walk the tensors in
``state_dict`` order; a tensor larger than ``max_shard_size`` gets a shard of its own; otherwise a
new shard starts when the current one would exceed ``max_shard_size``. One shard is
``model.safetensors``; n shards are ``model-0000i-of-0000n.safetensors`` (5 digits) with
``model.safetensors.index.json`` as ``save_pretrained`` writes it (``json.dumps(indent=2,
sort_keys=True)`` plus a newline; ``metadata.total_parameters`` and ``metadata.total_size``).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ST_DTYPES", "ITEMSIZE", "INT_DTYPES", "parse_size", "header_bytes", "split_shards", "index_json",
           "FileLayout", "Placed"]

#: sow dtype -> safetensors dtype string. The integer and bool dtypes hold constant tensors only
#: (a buffer such as BatchNorm's ``num_batches_tracked``; sow's sampling is floating-point).
ST_DTYPES: Final = {"float64": "F64", "float32": "F32", "bfloat16": "BF16", "float16": "F16",
                    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
                    "bool": "BOOL"}
ITEMSIZE: Final = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2, "int64": 8,
                   "int32": 4, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}
#: The dtypes of constant-only tensors, as NumPy names them.
INT_DTYPES: Final = ("int64", "int32", "int16", "int8", "uint8", "bool")
# Order in safetensors' Dtype enumeration (the sort key, descending), as safetensors.numpy.save
# lays a file out: I64 > F64 > F32 > I32 > BF16 > F16 > I16 > I8 > U8 > BOOL.
_DTYPE_RANK: Final = {"bool": 10, "uint8": 11, "int8": 12, "int16": 13, "float16": 15,
                      "bfloat16": 16, "int32": 17, "float32": 19, "float64": 21, "int64": 22}

_UNITS: Final = {"TB": 10**12, "GB": 10**9, "MB": 10**6, "KB": 10**3}
_SIZE: Final = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]{2})\s*")


def parse_size(size: Any, name: str = "max_shard_size") -> int:
    """``"5GB"`` -> 5 * 10**9 (units TB, GB, MB, KB, powers of 10, as huggingface_hub's
    ``parse_size_to_int``: ``int(value * unit)``), or an int of bytes (>= 1)."""
    if isinstance(size, bool):
        raise TypeError(f"{name} must be an int of bytes or a str like '5GB', got {size!r}")
    if isinstance(size, int):
        if size < 1:
            raise ValueError(f"{name} must be >= 1 byte, got {size}")
        return size
    if not isinstance(size, str):
        raise TypeError(f"{name} must be an int of bytes or a str like '5GB', got {size!r}")
    m = _SIZE.fullmatch(size)
    if m is None or m.group(2).upper() not in _UNITS:
        raise ValueError(f"{name} must be a number and a unit (TB, GB, MB, KB), e.g. '5GB'; "
                         f"got {size!r}")
    v = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if v < 1:
        raise ValueError(f"{name} must be >= 1 byte, got {size!r}")
    return v


@dataclass(frozen=True)
class Placed:
    """A tensor in a file: ``index`` into the checkpoint's tensor list, byte range of its data
    relative to the file start (``begin`` includes the 8 + n header bytes)."""

    index: int
    name: str
    begin: int
    end: int


@dataclass
class FileLayout:
    """One safetensors file: its name, header (with the 8 length bytes), tensors in file order
    and total size."""

    name: str
    header: bytes
    tensors: list[Placed] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.tensors[-1].end if self.tensors else len(self.header)


def _json(obj: Any) -> str:
    # serde_json's compact form: no spaces, non-ASCII kept as UTF-8, control characters escaped.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def header_bytes(entries: Sequence[tuple[str, str, tuple[int, ...], int, int]],
                 metadata: Mapping[str, str] | None) -> bytes:
    """The 8 length bytes and the padded JSON header of ``entries`` ``(name, dtype, shape,
    begin, end)`` (already in file order, offsets relative to the data start)."""
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + _json(dict(metadata)))
    for name, dt, shape, b, e in entries:
        parts.append(_json(name) + ':{"dtype":' + _json(ST_DTYPES[dt]) + ',"shape":'
                     + _json([int(s) for s in shape]) + ',"data_offsets":[' + f"{b},{e}" + "]}")
    text = ("{" + ",".join(parts) + "}").encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def file_order(names: Sequence[str], dtypes: Sequence[str]) -> list[int]:
    """Indices in safetensors' order: dtype descending, then name."""
    return sorted(range(len(names)), key=lambda i: (-_DTYPE_RANK[dtypes[i]], names[i].encode()))


def split_shards(sizes: Sequence[int], max_shard_size: int) -> list[list[int]]:
    """Tensor indices per shard, huggingface_hub's rule (module doc)."""
    shards: list[list[int]] = []
    current: list[int] = []
    current_size = 0
    for i, n in enumerate(sizes):
        if n > max_shard_size:
            shards.append([i])
            continue
        if current_size + n > max_shard_size:
            shards.append(current)
            current, current_size = [], 0
        current.append(i)
        current_size += n
    if current:
        shards.append(current)
    return shards


def shard_names(n: int) -> list[str]:
    if n == 1:
        return ["model.safetensors"]
    return [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]


def index_json(weight_map: Mapping[str, str], total_size: int, total_parameters: int) -> str:
    """``model.safetensors.index.json`` as transformers' ``save_pretrained`` writes it."""
    index = {"metadata": {"total_parameters": total_parameters, "total_size": total_size},
             "weight_map": dict(weight_map)}
    return json.dumps(index, indent=2, sort_keys=True) + "\n"
