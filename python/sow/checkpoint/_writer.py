"""The streaming writer: every file's bytes produced range by range, written with ``os.pwrite``.

No tensor is ever held whole: a file is cut into chunks (``chunk_bytes``, 64 MiB by default) on a
grid of the file's offsets; each chunk is filled in a buffer (header bytes copied, tensor bytes
from ``sow.Plan.write_range``, padding rows zeroed) and written at its offset by a writer thread
while the next chunk is generated into the other buffer. Memory: two chunk buffers.

Ranks (several processes, on one host or on several hosts sharing a filesystem) split every file
by bytes: rank ``r`` of ``W`` writes ``[cut(r), cut(r + 1))`` with ``cut(r) = floor(size * r / W)``
rounded down to 64 KiB (so no two ranks share a page), the headers falling to rank 0. The protocol,
all in ``out_dir/.sow-checkpoint/`` (files are created by one rank and only read by the others):

1. Rank 0 checks ``out_dir`` (non-empty: refused unless ``overwrite``), creates the state folder,
   draws a nonce, creates every file as ``<name>.<nonce>.partial`` at its full size
   (``posix_fallocate``, so a full disk fails here, before any value is computed), then writes
   ``ready`` (JSON: nonce, world size, the fingerprint of every header) by an atomic rename.
2. Every other rank waits for a ``ready`` whose fingerprint equals its own (same source, seed,
   recipe, dtype, shards and world size), opens the partial files, writes its ranges, fsyncs,
   checks that ``ready`` still holds the same nonce (else a newer run replaced it: it starts
   again), and writes ``done.<rank>.<nonce>``. A failing rank writes ``failed.<rank>.<nonce>``.
3. Rank 0 writes its own ranges, fsyncs, waits for every ``done`` marker, renames the files to
   their final names, writes ``config.json``, then ``model.safetensors.index.json`` last, and
   removes the state folder. With torch.distributed initialized, all ranks meet at a barrier.

An interrupted run leaves only ``.sow-checkpoint/`` (and maybe a ``config.json`` or renamed
shards without an index on a crash between the renames): nothing a loader takes for a complete
checkpoint, and the next run refuses the folder until given ``overwrite``.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from ._format import FileLayout

__all__ = ["STATE_DIR", "write_files", "rank_cuts", "CheckpointError"]

STATE_DIR: Final = ".sow-checkpoint"
_ALIGN: Final = 1 << 16  # 64 KiB: no two ranks share a page


class CheckpointError(RuntimeError):
    """A checkpoint run that could not complete (the message says what is left and what to do)."""


@dataclass
class Job:
    """What a run writes: the files (layout), the plan producing the tensor bytes, the padding
    rows ``zero[i] = (row_bytes, rows)`` per tensor index, and the small text files written at the
    end (name -> contents; the index, if any, last)."""

    files: list[FileLayout]
    plan: Any
    zero: dict[int, tuple[int, tuple[int, ...]]]
    finals: list[tuple[str, str]]


def rank_cuts(size: int, world_size: int) -> list[int]:
    """Byte boundaries of the ranks' parts of a file of ``size`` bytes (``world_size + 1``)."""
    cuts = [0]
    for r in range(1, world_size):
        cuts.append(min(size, size * r // world_size // _ALIGN * _ALIGN))
    cuts.append(size)
    return cuts


def fingerprint(job: Job, world_size: int) -> str:
    h = hashlib.sha256(f"world_size={world_size}\n".encode())
    for f in job.files:
        h.update(f.name.encode() + b"\0" + f.header)
    for name, text in job.finals:
        h.update(name.encode() + b"\0" + text.encode())
    return h.hexdigest()


def fill_chunk(job: Job, f: FileLayout, starts: Sequence[int], a: int, b: int, buf: memoryview,
               threads: int | None) -> None:
    """Bytes ``[a, b)`` of file ``f`` into ``buf[:b - a]``."""
    hlen = len(f.header)
    if a < hlen:
        e = min(b, hlen)
        buf[0:e - a] = f.header[a:e]
    i = max(0, bisect.bisect_right(starts, a) - 1)
    while i < len(f.tensors) and f.tensors[i].begin < b:
        t = f.tensors[i]
        lo, hi = max(a, t.begin), min(b, t.end)
        if lo < hi:
            job.plan.write_range(t.index, lo - t.begin, hi - t.begin, buf[lo - a:hi - a], threads)
            z = job.zero.get(t.index)
            if z is not None:
                row, rows = z
                for r in rows:
                    zl, zh = max(lo, t.begin + r * row), min(hi, t.begin + (r + 1) * row)
                    if zl < zh:
                        buf[zl - a:zh - a] = bytes(zh - zl)
        i += 1


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while len(view):
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _atomic_text(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _ours(name: str) -> bool:
    return name in ("config.json", "model.safetensors.index.json", STATE_DIR) or (
        name.startswith("model") and name.endswith(".safetensors"))


def prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    """Rank 0: refuse a non-empty ``out_dir`` unless ``overwrite``; with it, remove what a
    checkpoint (or an unfinished run) left there (other files stay)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"out_dir {out_dir!r} exists and is not a directory")
    entries = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
    if entries and not overwrite:
        if STATE_DIR in entries:
            raise ValueError(
                f"out_dir {out_dir!r} holds an unfinished sow checkpoint ({STATE_DIR}/ from an "
                f"interrupted run); rerun with overwrite=True (CLI: --overwrite) to start it "
                f"over, or delete {os.path.join(out_dir, STATE_DIR)}")
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ValueError(f"out_dir {out_dir!r} is not empty ({shown}); pass overwrite=True "
                         f"(CLI: --overwrite) to replace a checkpoint there")
    for name in entries:
        if _ours(name):
            p = os.path.join(out_dir, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.remove(p)
    os.makedirs(out_dir, exist_ok=True)


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _partial(state: str, name: str, nonce: str) -> str:
    return os.path.join(state, f"{name}.{nonce}.partial")


class _Deadline:
    def __init__(self, timeout: float, what: str) -> None:
        self.end = time.monotonic() + timeout
        self.timeout, self.what = timeout, what
        self.sleep = 0.01

    def wait(self, detail: str = "") -> None:
        if time.monotonic() > self.end:
            raise CheckpointError(f"timed out after {self.timeout:g} s waiting for {self.what}"
                                  + (f" ({detail})" if detail else ""))
        time.sleep(self.sleep)
        self.sleep = min(self.sleep * 2, 0.5)


def _write_ranges(job: Job, fds: list[int], rank: int, world_size: int, chunk_bytes: int,
                  threads: int | None, progress: Callable[[int], None] | None) -> None:
    """This rank's byte ranges of every file: generated into two alternating buffers, each
    written by one writer thread while the other is being filled."""
    work: list[tuple[int, int, int]] = []
    for k, f in enumerate(job.files):
        cuts = rank_cuts(f.size, world_size)
        lo, hi = cuts[rank], cuts[rank + 1]
        a = lo
        while a < hi:
            b = min(hi, (a // chunk_bytes + 1) * chunk_bytes)
            work.append((k, a, b))
            a = b
    if not work:
        return
    size = max(b - a for _, a, b in work)
    bufs = [memoryview(bytearray(size)), memoryview(bytearray(size))] if len(work) > 1 \
        else [memoryview(bytearray(size))]
    starts = [[t.begin for t in f.tensors] for f in job.files]
    pending: list[Future[None] | None] = [None] * len(bufs)
    sizes = [0] * len(bufs)
    with ThreadPoolExecutor(1, thread_name_prefix="sow-ckpt-write") as ex:
        try:
            for n, (k, a, b) in enumerate(work):
                j = n % len(bufs)
                p = pending[j]
                if p is not None:
                    p.result()
                    if progress is not None:
                        progress(sizes[j])
                f = job.files[k]
                fill_chunk(job, f, starts[k], a, b, bufs[j], threads)
                sizes[j] = b - a
                pending[j] = ex.submit(_pwrite_all, fds[k], bufs[j][:b - a], a)
            for j, p in enumerate(pending):
                if p is not None:
                    p.result()
                    if progress is not None:
                        progress(sizes[j])
        finally:
            for p in pending:
                if p is not None:
                    p.cancel()


def _open_partials(state: str, job: Job, nonce: str, create: bool) -> list[int]:
    fds: list[int] = []
    try:
        for f in job.files:
            path = _partial(state, f.name, nonce)
            if create:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                fds.append(fd)
                _reserve(fd, f.size, path)
            else:
                fds.append(os.open(path, os.O_RDWR))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def _reserve(fd: int, size: int, path: str) -> None:
    """Give the file its full size, allocated where the filesystem can (a full disk fails now)."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None and size > 0:
        try:
            fallocate(fd, 0, size)
            return
        except OSError as e:
            if e.errno not in (95, 22, 38):  # EOPNOTSUPP/ENOTSUP, EINVAL, ENOSYS: unsupported
                raise
    os.ftruncate(fd, size)


def _close_all(fds: list[int], sync: bool) -> None:
    err: BaseException | None = None
    for fd in fds:
        try:
            if sync:
                os.fsync(fd)
        except OSError as e:
            err = err or e
        finally:
            os.close(fd)
    if err is not None:
        raise err


def write_files(job: Job, out_dir: str, *, rank: int, world_size: int, overwrite: bool,
                chunk_bytes: int, threads: int | None, timeout: float,
                progress: Callable[[int], None] | None) -> None:
    """Run the protocol of the module doc for this rank."""
    state = os.path.join(out_dir, STATE_DIR)
    fp = fingerprint(job, world_size)
    if rank == 0:
        _rank0(job, out_dir, state, fp, world_size, overwrite, chunk_bytes, threads, timeout,
               progress)
    else:
        _rank_n(job, out_dir, state, fp, rank, world_size, chunk_bytes, threads, timeout,
                progress)
    _barrier()


def _rank0(job: Job, out_dir: str, state: str, fp: str, world_size: int, overwrite: bool,
           chunk_bytes: int, threads: int | None, timeout: float,
           progress: Callable[[int], None] | None) -> None:
    prepare_out_dir(out_dir, overwrite)
    total = sum(f.size for f in job.files)
    free = shutil.disk_usage(out_dir).free
    if free < total:
        raise OSError(28, f"no space left: the checkpoint needs {total} bytes and {out_dir!r} "
                          f"has {free} free; nothing was written")
    os.makedirs(state)
    nonce = secrets.token_hex(8)
    fds: list[int] = []
    ok = False
    try:
        fds = _open_partials(state, job, nonce, create=True)
        _atomic_text(os.path.join(state, "ready"),
                     json.dumps({"nonce": nonce, "world_size": world_size, "fingerprint": fp}))
        _write_ranges(job, fds, 0, world_size, chunk_bytes, threads, progress)
        _close_all(fds, sync=True)
        fds = []
        dl = _Deadline(timeout, "the other ranks' done markers")
        while True:
            missing = []
            for r in range(1, world_size):
                if os.path.exists(os.path.join(state, f"failed.{r}.{nonce}")):
                    raise CheckpointError(f"rank {r} failed (see its error)")
                if not os.path.exists(os.path.join(state, f"done.{r}.{nonce}")):
                    missing.append(r)
            if not missing:
                break
            dl.wait("ranks " + ", ".join(map(str, missing)) + " not done")
        for f in job.files:
            os.replace(_partial(state, f.name, nonce), os.path.join(out_dir, f.name))
        _fsync_dir(out_dir)
        for name, text in job.finals:
            _atomic_text(os.path.join(out_dir, name), text)
        _fsync_dir(out_dir)
        ok = True
    finally:
        for fd in fds:
            os.close(fd)
        if ok:
            shutil.rmtree(state, ignore_errors=True)
        else:
            # Nothing half-written may look like a checkpoint: the partial files go; a crash past
            # this point (SIGKILL) leaves them under .sow-checkpoint/ only.
            done_names = {f.name for f in job.files}
            for name in os.listdir(out_dir) if os.path.isdir(out_dir) else []:
                if name in done_names or name in dict(job.finals):
                    try:
                        os.remove(os.path.join(out_dir, name))
                    except OSError:
                        pass
            shutil.rmtree(state, ignore_errors=True)


def _rank_n(job: Job, out_dir: str, state: str, fp: str, rank: int, world_size: int,
            chunk_bytes: int, threads: int | None, timeout: float,
            progress: Callable[[int], None] | None) -> None:
    dl = _Deadline(timeout, f"rank 0 to create the files in {state} (its 'ready' marker)")
    nonce = None
    try:
        while True:
            ready = _read_json(os.path.join(state, "ready"))
            if not ready or ready.get("fingerprint") != fp:
                detail = "" if not ready else (
                    "its ready marker is for another checkpoint: a different source, seed, "
                    "recipe, dtype, shard size or world size")
                dl.wait(detail)
                continue
            nonce = str(ready["nonce"])
            try:
                fds = _open_partials(state, job, nonce, create=False)
            except FileNotFoundError:
                dl.wait()
                continue
            try:
                _write_ranges(job, fds, rank, world_size, chunk_bytes, threads, progress)
            finally:
                _close_all(fds, sync=True)
            again = _read_json(os.path.join(state, "ready"))
            if again and again.get("nonce") == nonce:
                break
        _atomic_text(os.path.join(state, f"done.{rank}.{nonce}"), "")
    except BaseException:
        if nonce is not None and os.path.isdir(state):
            try:
                _atomic_text(os.path.join(state, f"failed.{rank}.{nonce}"), "")
            except OSError:
                pass
        raise


def _barrier() -> None:
    dist_mod = sys.modules.get("torch.distributed")
    if dist_mod is None:
        return
    try:
        if dist_mod.is_available() and dist_mod.is_initialized():
            dist_mod.barrier()
    except Exception as e:  # pragma: no cover - depends on the process group
        raise CheckpointError(f"torch.distributed barrier failed: {e}") from e
