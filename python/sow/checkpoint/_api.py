"""``sow.checkpoint.write``, ``verify`` and ``tensors``."""

from __future__ import annotations

import json
import math
import os
import resource
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._dtypes import numpy_dtype, parse_dtype
from .._validate import check_seed, check_threads, is_int
from ._arch import architecture
from ._format import INT_DTYPES, ITEMSIZE, ST_DTYPES, header_bytes, parse_size
from ._layout import NORM_OF, build, check_tensors, job, make_plan, spec_parts
from ._progress import Progress, human_bytes
from ._source import config_text, resolve
from ._tensors import EMBEDDED_RECIPES, Tensor, arch_tensors
from ._writer import CheckpointError, write_files

__all__ = ["write", "verify", "tensors", "WriteReport", "VerifyReport"]

_CHUNK = 64 << 20


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # kB on Linux


@dataclass
class WriteReport:
    """What :func:`write` did. ``bytes``: all files; ``bytes_written``: by this rank;
    ``seconds``: wall time of this rank; ``peak_rss``: this process's peak resident memory."""

    out_dir: str
    files: list[str]
    tensors: int
    parameters: int
    bytes: int
    bytes_written: int
    seconds: float
    peak_rss: int
    rank: int
    world_size: int

    @property
    def gbps(self) -> float:
        return self.bytes_written / self.seconds / 1e9 if self.seconds > 0 else float("inf")

    def __str__(self) -> str:
        who = f" (rank {self.rank} of {self.world_size}: {human_bytes(self.bytes_written)})" \
            if self.world_size > 1 else ""
        return (f"{self.out_dir}: {self.tensors} tensors, {self.parameters:,} parameters, "
                f"{human_bytes(self.bytes)} in {len(self.files)} file(s){who}; "
                f"{self.seconds:.2f} s, {self.gbps:.2f} GB/s, peak RSS "
                f"{self.peak_rss / 2**20:.0f} MiB")


def _rank_world(rank: Any, world_size: Any) -> tuple[int, int]:
    if rank is None and world_size is None:
        env_r, env_w = os.environ.get("RANK"), os.environ.get("WORLD_SIZE")
        if env_r is None and env_w is None:
            return 0, 1
        if env_r is None or env_w is None:
            raise ValueError("RANK and WORLD_SIZE must be set together (torchrun sets both)")
        try:
            rank, world_size = int(env_r), int(env_w)
        except ValueError:
            raise ValueError(f"RANK={env_r!r} and WORLD_SIZE={env_w!r} must be ints") from None
    elif rank is None or world_size is None:
        raise ValueError("rank and world_size go together: pass both or neither")
    if not is_int(rank) or not is_int(world_size):
        raise TypeError(f"rank and world_size must be ints, got {rank!r}, {world_size!r}")
    rank, world_size = int(rank), int(world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size) and world_size >= 1, got rank={rank}, "
                         f"world_size={world_size}")
    return rank, world_size


def _recipe_name(recipe: Any) -> str:
    return recipe if isinstance(recipe, str) else str(getattr(recipe, "name", type(recipe).__name__))


def tensors(source: Any, *, recipe: Any = "hf", dtype: Any = "bfloat16",
            config: Any = None) -> list[Tensor]:
    """The tensors a checkpoint of ``source`` holds, in ``state_dict`` order: each a
    :class:`Tensor` (``name``, ``shape``, ``dtype``, ``spec``, ``zero_rows``). No file, no plan,
    no torch for presets and configs."""
    dt = parse_dtype(dtype)
    return check_tensors(resolve(source, recipe, config).tensors, dt)


def _base_metadata(seed: int, recipe: str, dtype: str) -> dict[str, str]:
    import sow

    return {"sow.dtype": dtype, "sow.recipe": recipe, "sow.seed": str(seed),
            "sow.stream_format": str(sow.STREAM_FORMAT), "sow.version": sow.__version__}


def write(source: Any, out_dir: str | os.PathLike[str], *, seed: int, recipe: Any = "hf",
          dtype: Any = "bfloat16", max_shard_size: int | str = "5GB", rank: int | None = None,
          world_size: int | None = None, threads: int | None = None, progress: bool = True,
          overwrite: bool = False, config: Any = None, chunk_bytes: int = _CHUNK,
          timeout: float = 600.0) -> WriteReport:
    """Write the initial checkpoint of ``source`` to ``out_dir`` in Hugging Face's layout.

    ``source``: a preset (:data:`PRESETS`), a ``config.json`` path or dict, a list of
    ``(name, shape, dtype, spec)``, a torch ``nn.Module`` on meta, a transformers model class
    with its config (``(LlamaForCausalLM, cfg)`` or ``config=cfg``) or a ``PretrainedConfig``
    (torch sources: the specs the model's own init code gives, recorded on meta by
    ``sow.torch.plan_module``; nothing is materialized). Every tensor is keyed by its name: its
    values are a function of (seed, name, index, spec, dtype) only, and the files are
    byte-identical for any ``threads``, ``rank``/``world_size`` and ``chunk_bytes``.

    ``recipe``: ``"hf"`` (transformers' ``_init_weights``, default), ``"torch"``, ``"gpt2"``, or
    any sow.torch recipe for a torch source. ``dtype``: of every tensor without its own
    (default bfloat16). ``max_shard_size``: bytes or ``"5GB"``-style (powers of 10), shards as
    huggingface_hub splits them. ``rank``/``world_size``: this process's share (default: the
    ``RANK``/``WORLD_SIZE`` environment of torchrun, else 0 of 1); every rank runs the same call.
    ``threads``: generation threads (default: all cores). ``overwrite``: replace a checkpoint
    (or an unfinished run) in a non-empty ``out_dir``. ``chunk_bytes``: the size of each of the
    two buffers (default 64 MiB). ``timeout``: seconds a rank waits for the others.

    Raises ValueError/TypeError for bad arguments before anything is written; OSError (disk
    full: before any value is computed where the filesystem can allocate) and
    :class:`CheckpointError` leave no file that looks complete.
    """
    t0 = time.perf_counter()
    s = check_seed(seed)
    dt = parse_dtype(dtype)
    shard = parse_size(max_shard_size)
    r, w = _rank_world(rank, world_size)
    check_threads(threads)
    if not is_int(chunk_bytes) or chunk_bytes < 4096:
        raise ValueError(f"chunk_bytes must be an int >= 4096, got {chunk_bytes!r}")
    if not isinstance(progress, bool) or not isinstance(overwrite, bool):
        raise TypeError("progress and overwrite must be bools")
    out = os.fspath(out_dir)
    from ..plan import Plan

    if isinstance(source, Plan) and source.seed != s:
        raise ValueError(f"seed={s} differs from the source plan's seed {source.seed}: a Plan "
                         f"source is written with its own seed")
    res = resolve(source, recipe, config)
    ts = check_tensors(res.tensors, dt)
    rec = _recipe_name(recipe)
    lay = build(ts, _base_metadata(s, rec, dt), shard)
    plan = make_plan(ts, s)
    cfg = config_text(res.config, dt) if res.config is not None else None
    jb = job(lay, plan, cfg)
    from ._writer import rank_cuts

    mine = sum(c[r + 1] - c[r] for c in (rank_cuts(f.size, w) for f in lay.files))
    bar = Progress(mine, enabled=progress,
                   label="sow checkpoint" + (f" [rank {r}/{w}]" if w > 1 else ""))
    try:
        write_files(jb, out, rank=r, world_size=w, overwrite=overwrite, chunk_bytes=int(chunk_bytes),
                    threads=threads, timeout=float(timeout), progress=bar.update)
    except OSError as e:
        raise _disk_error(e, out) from e
    finally:
        bar.close()
    return WriteReport(out, [f.name for f in lay.files], len(ts), lay.total_parameters,
                       sum(f.size for f in lay.files), mine, time.perf_counter() - t0, _peak_rss(),
                       r, w)


def _disk_error(e: OSError, out: str) -> OSError:
    import errno

    if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        what = {errno.ENOSPC: "no space left on device", errno.EFBIG: "file too large (a file "
                "size limit, RLIMIT_FSIZE or the filesystem's)", errno.EDQUOT: "disk quota exceeded"}
        return OSError(e.errno, f"cannot write the checkpoint to {out!r}: {what[e.errno]}; "
                                f"nothing that looks complete was left (free space, then rerun)")
    return e


# ---------------------------------------------------------------------------------------------
# verify


@dataclass
class VerifyReport:
    """What :func:`verify` checked and found. ``ok`` when ``mismatches`` is empty."""

    out_dir: str
    files: list[str] = field(default_factory=list)
    tensors: int = 0
    elements_checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def __str__(self) -> str:
        head = (f"{self.out_dir}: {len(self.files)} file(s), {self.tensors} tensors, "
                f"{self.elements_checked:,} elements checked: ")
        if self.ok:
            return head + "OK"
        more = f"\n  ... {len(self.mismatches) - 20} more" if len(self.mismatches) > 20 else ""
        return head + f"{len(self.mismatches)} MISMATCH(ES)\n  " + "\n  ".join(
            self.mismatches[:20]) + more


def _read_header(path: str) -> tuple[bytes, dict[str, Any]]:
    with open(path, "rb") as fh:
        n_raw = fh.read(8)
        if len(n_raw) != 8:
            raise ValueError(f"{path}: shorter than a safetensors header")
        (n,) = struct.unpack("<Q", n_raw)
        if n > 100_000_000:
            raise ValueError(f"{path}: header length {n} is not plausible")
        text = fh.read(n)
    if len(text) != n:
        raise ValueError(f"{path}: truncated header")
    return n_raw + text, json.loads(text.decode("utf-8"))


def _check_entries(hdr: Mapping[str, Any], md: Any) -> None:
    if not isinstance(hdr, Mapping) or not isinstance(md, Mapping) or not all(
            isinstance(v, str) for v in md.values()):
        raise ValueError("the header or its __metadata__ is not a map of the right types")
    for k, v in hdr.items():
        ok = isinstance(v, Mapping) and v.get("dtype") in ST_DTYPES.values() and isinstance(
            v.get("shape"), list) and isinstance(v.get("data_offsets"), list) and len(
            v["data_offsets"]) == 2 and all(isinstance(x, int) for x in v["data_offsets"] + v["shape"])
        if not ok:
            raise ValueError(f"entry {k!r} is not a tensor entry")


def _expected_from_config(out: str, recipe: str, dtype: str) -> dict[str, Tensor] | None:
    p = os.path.join(out, "config.json")
    if not os.path.exists(p) or recipe not in EMBEDDED_RECIPES:
        return None
    with open(p, encoding="utf-8") as fh:
        cfg = json.load(fh)
    try:
        c, arch = architecture(cfg)
        ts = arch_tensors(c, arch, recipe)
    except (ValueError, TypeError):
        return None
    return {t.name: Tensor(t.name, t.shape, dtype, t.spec, t.key, t.zero_rows) for t in ts}


def _recorded(name: str, info: Mapping[str, Any], specs: Mapping[str, Any]) -> Tensor | None:
    rec = specs.get(name)
    if not isinstance(rec, Mapping) or "init" not in rec:
        return None
    dt = {v: k for k, v in ST_DTYPES.items()}.get(info.get("dtype", ""))
    return Tensor(name, tuple(info["shape"]), dt, (rec["init"], dict(rec.get("params", {}))),
                  rec.get("key"), tuple(rec.get("zero_rows", ())))


def _recorded_in(out: str, files: list[str]) -> dict[str, Tensor]:
    """Every tensor the files' headers record, by name (unreadable files give none)."""
    got: dict[str, Tensor] = {}
    for fname in files:
        try:
            _, hdr = _read_header(os.path.join(out, fname))
            md = hdr.pop("__metadata__", {}) or {}
            specs = json.loads(md.get("sow.specs", "{}"))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for name, info in hdr.items():
            t = _recorded(name, info, specs) if isinstance(info, Mapping) else None
            if t is not None:
                got[name] = t
    return got


def verify(out_dir: str | os.PathLike[str], *, seed: int, recipe: str | None = None,
           sample: int = 1024, threads: int | None = None,
           rng: int | None = None) -> VerifyReport:
    """Check a checkpoint written by :func:`write` against sow's values.

    For every file: the header is rebuilt from what the tensors should be and compared byte for
    byte (names, dtypes, shapes, order, offsets, metadata, padding), the file size is checked,
    and every tensor's first and last elements plus ``sample`` random ones (in runs of 8) are
    recomputed and compared. The expected tensors come from ``config.json`` when it is a
    built-in architecture and ``recipe`` (default: the one the files record) is embedded, else
    from the specs the files record. ``seed`` must be the one the checkpoint was written with;
    a different one is reported. ``rng``: seed of the sample's positions (default: fresh)."""
    s = check_seed(seed)
    if not is_int(sample) or sample < 0:
        raise ValueError(f"sample must be an int >= 0, got {sample!r}")
    out = os.fspath(out_dir)
    rep = VerifyReport(out)
    if not os.path.isdir(out):
        raise ValueError(f"out_dir {out!r} is not a directory")
    idx_path = os.path.join(out, "model.safetensors.index.json")
    if os.path.exists(idx_path):
        with open(idx_path, encoding="utf-8") as fh:
            index = json.load(fh)
        files = sorted(set(index["weight_map"].values()))
    elif os.path.exists(os.path.join(out, "model.safetensors")):
        index, files = None, ["model.safetensors"]
    else:
        raise ValueError(f"{out!r} holds no model.safetensors and no "
                         f"model.safetensors.index.json")
    gen = np.random.default_rng(rng)
    expected: dict[str, Tensor] | None = None
    seen: dict[str, str] = {}
    everywhere: dict[str, Tensor] | None = None
    total_size = 0
    for fname in files:
        path = os.path.join(out, fname)
        rep.files.append(fname)
        if not os.path.exists(path):
            rep.mismatches.append(f"{fname}: missing")
            continue
        try:
            raw, hdr = _read_header(path)
            md = hdr.pop("__metadata__", {}) or {}
            _check_entries(hdr, md)
        except (ValueError, KeyError, TypeError) as e:
            rep.mismatches.append(f"{fname}: header is not a valid safetensors header ({e})")
            continue
        if md.get("sow.seed") != str(s):
            rep.mismatches.append(f"{fname}: written with seed {md.get('sow.seed')}, not {s}")
        rec_recipe = md.get("sow.recipe")
        use_recipe = recipe if recipe is not None else rec_recipe
        if recipe is not None and rec_recipe != recipe:
            rep.mismatches.append(f"{fname}: written with recipe {rec_recipe!r}, not {recipe!r}")
        try:
            specs = json.loads(md.get("sow.specs", "{}"))
        except ValueError:
            specs = {}
        dtype = md.get("sow.dtype", "bfloat16")
        if expected is None and isinstance(use_recipe, str):
            expected = _expected_from_config(out, use_recipe, dtype) or {}
        names = sorted(hdr, key=lambda k: hdr[k]["data_offsets"][0])
        want: list[Tensor] = []
        for name in names:
            t = (expected or {}).get(name) or _recorded(name, hdr[name], specs)
            if t is None:
                rep.mismatches.append(f"{fname}: {name}: no spec (not in the architecture nor "
                                      f"recorded)")
                continue
            want.append(t)
            seen[name] = fname
        if len(want) != len(names):
            continue
        # The header as write() would make it for these tensors.
        base = {k: v for k, v in md.items() if k.startswith("sow.") and k != "sow.specs"}
        base["sow.seed"], base["sow.recipe"] = str(s), str(use_recipe)
        from ._layout import build as _build

        others: dict[str, Tensor] = {}
        if any(spec_parts(t.spec, t.name)[0] == NORM_OF for t in want):
            # a weight norm's g may be in another file than its v
            others = everywhere if everywhere is not None else _recorded_in(out, files)
            everywhere = others
        try:
            wt = check_tensors(want, dtype, others)
        except (TypeError, ValueError) as e:
            rep.mismatches.append(f"{fname}: {e}")
            continue
        lay = _build(wt, base, 1 << 62)
        if lay.files[0].header != raw:
            rep.mismatches.append(f"{fname}: header differs from the one sow writes for these "
                                  f"tensors (names, shapes, dtypes, order, offsets or metadata)")
        size = os.path.getsize(path)
        if size != lay.files[0].size:
            rep.mismatches.append(f"{fname}: {size} bytes, expected {lay.files[0].size}")
        total_size += lay.total_size
        rep.tensors += len(wt)
        plan = make_plan(wt, s, others)
        rep.elements_checked += _check_values(path, raw, hdr, wt, plan, sample, gen, threads,
                                              rep.mismatches, fname)
    if expected:
        for name in expected:
            if name not in seen:
                rep.mismatches.append(f"{name}: missing from the checkpoint")
    if index is not None:
        if index.get("metadata", {}).get("total_size") != total_size:
            rep.mismatches.append(f"index: total_size {index.get('metadata', {}).get('total_size')}"
                                  f" != {total_size}")
        for name, fname in index["weight_map"].items():
            if seen.get(name) != fname:
                rep.mismatches.append(f"index: {name} -> {fname}, but it is in {seen.get(name)}")
    return rep


def _check_values(path: str, raw: bytes, hdr: Mapping[str, Any], ts: list[Tensor], plan: Any,
                  sample: int, gen: np.random.Generator, threads: int | None,
                  mismatches: list[str], fname: str) -> int:
    checked = 0
    run = 8
    with open(path, "rb") as fh:
        fd = fh.fileno()
        for i, t in enumerate(ts):
            n = t.numel
            if n == 0:
                continue
            isz = ITEMSIZE[t.dtype]  # type: ignore[index]
            begin = len(raw) + hdr[t.name]["data_offsets"][0]
            starts = {0, max(0, n - run)}
            if sample:
                starts.update(int(x) for x in gen.integers(0, max(1, n - run + 1),
                                                            size=math.ceil(sample / run)))
            row = math.prod(t.shape[1:]) * isz
            bad_runs, first = 0, ""
            for e0 in sorted(starts):
                e1 = min(n, e0 + run)
                want = bytearray((e1 - e0) * isz)
                plan.write_range(i, e0 * isz, e1 * isz, want, threads)
                for r in t.zero_rows:
                    lo, hi = max(e0 * isz, r * row), min(e1 * isz, (r + 1) * row)
                    if lo < hi:
                        want[lo - e0 * isz:hi - e0 * isz] = bytes(hi - lo)
                got = os.pread(fd, len(want), begin + e0 * isz)
                checked += e1 - e0
                if got != bytes(want):
                    bad_runs += 1
                    if not first:
                        dt = np.dtype(t.dtype) if t.dtype in INT_DTYPES else \
                            numpy_dtype(t.dtype)  # type: ignore[arg-type]
                        g = np.frombuffer(got.ljust(len(want), b"\0"), dt)
                        w = np.frombuffer(bytes(want), dt)
                        k = int(np.nonzero(g.view(np.uint8).reshape(len(w), -1) !=
                                           w.view(np.uint8).reshape(len(w), -1))[0][0])
                        first = f"first at flat index {e0 + k}: {g[k]!r}, expected {w[k]!r}"
            if bad_runs:
                mismatches.append(f"{fname}: {t.name}: {bad_runs} of {len(starts)} sampled runs "
                                  f"differ; {first}")
    return checked
