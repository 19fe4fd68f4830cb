"""sow.checkpoint without torch: every tensor equals sow's fill of it, the safetensors bytes are
the Rust writer's, shards are huggingface_hub's, the bytes do not depend on threads, chunk size
or the number of writing processes, and bad input or a failed run leaves nothing that looks like
a checkpoint."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sow
import sow.checkpoint as ck
from sow.checkpoint import _format
from sow.checkpoint._layout import spec_parts

# A Llama big enough (5.5 MB in bf16) that three writers and two shards all get bytes.
MID = dict(model_type="llama", vocab_size=4096, hidden_size=256, intermediate_size=512,
           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           tie_word_embeddings=False, pad_token_id=5)


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """A safetensors file read by hand: (header, name -> array)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    hdr = json.loads(raw[8:8 + n])
    out = {}
    dts = {"BF16": sow._dtypes.numpy_dtype("bfloat16"), "F32": np.dtype("<f4"),
           "F16": np.dtype("<f2"), "F64": np.dtype("<f8")}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + b:8 + n + e], dts[v["dtype"]]).reshape(v["shape"])
    return hdr, out


def _fill(t: ck.Tensor, seed: int) -> np.ndarray:
    name, params = spec_parts(t.spec, t.name)
    out = np.empty(t.shape, sow._dtypes.numpy_dtype(t.dtype))
    fn = getattr(sow, name + "_")
    if name in sow.init.RANDOM_INITIALIZERS:
        fn(out, **params, seed=seed, key=t.name if t.key is None else t.key)
    else:
        fn(out, **params)
    for r in t.zero_rows:
        out[r] = 0
    return out


@pytest.mark.parametrize("source", ["llama-tiny", "gpt2-tiny", "qwen3-tiny", "mid"])
def test_every_tensor_equals_sows_fill(source, tmp_path):
    src = MID if source == "mid" else source
    ck.write(src, tmp_path / "c", seed=3, progress=False, max_shard_size="2MB")
    ts = ck.tensors(src)
    got: dict[str, np.ndarray] = {}
    for f in (tmp_path / "c").glob("*.safetensors"):
        got.update(_read(f)[1])
    assert sorted(got) == sorted(t.name for t in ts)
    for t in ts:
        np.testing.assert_array_equal(got[t.name].view(np.uint8), _fill(t, 3).view(np.uint8),
                                      err_msg=t.name)
    if source == "mid":  # the padding row (pad_token_id) is zero, the others are not
        emb = got["model.embed_tokens.weight"].astype(np.float32)
        assert not emb[5].any() and emb[4].any() and emb[6].any()


def test_safe_open_reads_every_tensor(tmp_path):
    safetensors = pytest.importorskip("safetensors")
    ck.write("gpt2-tiny", tmp_path, seed=0, progress=False, dtype="float32")
    ts = {t.name: t for t in ck.tensors("gpt2-tiny", dtype="float32")}
    with safetensors.safe_open(str(tmp_path / "model.safetensors"), "np") as f:
        assert f.metadata()["format"] == "pt"
        assert sorted(f.keys()) == sorted(ts)
        for k in f.keys():
            np.testing.assert_array_equal(f.get_tensor(k), _fill(ts[k], 0), err_msg=k)


def test_bytes_are_the_safetensors_writers(tmp_path):
    """Same tensors, same metadata: our header + data == safetensors' serialize, byte for byte
    (one metadata key: the Rust writer orders several by a HashMap); our full files parse to the
    same header and data."""
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    arrays = {"b": rng.random((3, 5)).astype("<f4"), "a": rng.random(7).astype("<f2"),
              "z.w": rng.random((2, 2)).astype("<f8"), "é": rng.random(1).astype("<f4"),
              "empty": np.zeros((0, 4), "<f4"), "scalar": np.array(1.5, "<f8"),
              "m": sow.normal((9,), seed=0, dtype="bfloat16")}
    dtn = {"<f4": "float32", "<f2": "float16", "<f8": "float64"}
    names = list(arrays)
    dts = [dtn.get(arrays[k].dtype.str, "bfloat16") for k in names]
    order = _format.file_order(names, dts)
    entries, off, data = [], 0, b""
    for i in order:
        b = arrays[names[i]].tobytes()
        entries.append((names[i], dts[i], arrays[names[i]].shape, off, off + len(b)))
        off += len(b)
        data += b
    for md in ({"format": "pt"}, None):
        assert _format.header_bytes(entries, md) + data == st.save(arrays, metadata=md)
    # A written file: same header as parsed by safetensors, same data as its own writer's.
    ck.write("llama-tiny", tmp_path, seed=1, progress=False)
    hdr, got = _read(tmp_path / "model.safetensors")
    ref = st.save(got, metadata=hdr["__metadata__"])
    raw = (tmp_path / "model.safetensors").read_bytes()
    (n,), (m,) = struct.unpack("<Q", raw[:8]), struct.unpack("<Q", ref[:8])
    assert n == m and n % 8 == 0 and raw[8 + n:] == ref[8 + m:]
    assert json.loads(raw[8:8 + n]) == json.loads(ref[8:8 + m])
    md = hdr["__metadata__"]
    assert md["format"] == "pt" and md["sow.seed"] == "1" and md["sow.recipe"] == "hf"
    assert md["sow.stream_format"] == str(sow.STREAM_FORMAT) and md["sow.version"] == sow.__version__


def test_shards_are_huggingface_hubs(tmp_path):
    hub = pytest.importorskip("huggingface_hub.serialization._base")
    rng = np.random.default_rng(1)
    for _ in range(200):
        sizes = [int(x) for x in rng.integers(0, 100, size=int(rng.integers(1, 30)))]
        cap = int(rng.integers(1, 150))
        sd = {f"t{i}": s for i, s in enumerate(sizes)}
        ref = hub.split_state_dict_into_shards_factory(
            sd, get_storage_size=lambda s: s, filename_pattern="model{suffix}.safetensors",
            max_shard_size=cap)
        shards = _format.split_shards(sizes, cap)
        names = _format.shard_names(len(shards))
        assert {n: [f"t{i}" for i in s] for n, s in zip(names, shards)} == ref.filename_to_tensors
    assert _format.parse_size("5GB") == hub.parse_size_to_int("5GB") == 5 * 10**9
    assert _format.parse_size("1.5 mb") == hub.parse_size_to_int("1.5 mb")
    # A written checkpoint: index as save_pretrained writes it.
    ck.write(MID, tmp_path, seed=0, progress=False, max_shard_size="2MB")
    ts = ck.tensors(MID)
    sizes = [t.numel * 2 for t in ts]
    sd = {t.name: s for t, s in zip(ts, sizes)}
    ref = hub.split_state_dict_into_shards_factory(
        sd, get_storage_size=lambda s: s, filename_pattern="model{suffix}.safetensors",
        max_shard_size="2MB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["weight_map"] == ref.tensor_to_filename
    assert index["metadata"] == {"total_size": sum(sizes), "total_parameters": sum(sizes) // 2}
    assert sorted(p.name for p in tmp_path.glob("*.safetensors")) == sorted(ref.filename_to_tensors)
    assert (tmp_path / "model.safetensors.index.json").read_text() == \
        json.dumps(index, indent=2, sort_keys=True) + "\n"


def test_bytes_do_not_depend_on_threads_or_chunks(tmp_path):
    runs = [dict(threads=1, chunk_bytes=4096), dict(threads=2, chunk_bytes=1 << 20),
            dict(threads=None, chunk_bytes=(1 << 16) + 8)]
    outs = []
    for i, kw in enumerate(runs):
        ck.write(MID, tmp_path / str(i), seed=9, progress=False, max_shard_size="2MB", **kw)
        outs.append(_files(tmp_path / str(i)))
    assert len(outs[0]) >= 5  # config, index, three or more shards
    assert outs[0] == outs[1] == outs[2]


_RANK = """
import sys, sow.checkpoint as ck
ck.write({src!r}, sys.argv[1], seed=9, progress=False, max_shard_size="2MB", rank=int(sys.argv[2]),
         world_size=int(sys.argv[3]), threads=1, timeout=120, chunk_bytes=1 << 18)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def test_three_processes_write_the_same_bytes(tmp_path):
    ck.write(MID, tmp_path / "one", seed=9, progress=False, max_shard_size="2MB")
    code = _RANK.format(src=MID)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "three"), str(r), "3"],
                              env=_env(), stderr=subprocess.PIPE, text=True)
             for r in (2, 1, 0)]  # the others start before rank 0 has made the files
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    assert _files(tmp_path / "three") == _files(tmp_path / "one")
    assert not (tmp_path / "three" / ck.STATE_DIR).exists()
    # Each of the three wrote some bytes of the largest file.
    size = max(len(b) for b in _files(tmp_path / "one").values())
    from sow.checkpoint._writer import rank_cuts

    cuts = rank_cuts(size, 3)
    assert all(cuts[r] < cuts[r + 1] for r in range(3))


def test_torchrun_environment_gives_rank_and_world_size(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    rep = ck.write("llama-tiny", tmp_path, seed=0, progress=False)
    assert (rep.rank, rep.world_size) == (0, 1)
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ValueError, match="rank"):
        ck.write("llama-tiny", tmp_path / "x", seed=0, progress=False)
    monkeypatch.delenv("WORLD_SIZE")
    with pytest.raises(ValueError, match="WORLD_SIZE"):
        ck.write("llama-tiny", tmp_path / "x", seed=0, progress=False)
    assert not (tmp_path / "x").exists()


def test_non_empty_out_dir_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty.*overwrite"):
        ck.write("llama-tiny", tmp_path, seed=0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    ck.write("llama-tiny", tmp_path, seed=0, progress=False, overwrite=True)
    ck.write("llama-tiny", tmp_path, seed=1, progress=False, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors",
                                                          "notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert ck.verify(tmp_path, seed=1).ok


BAD_CONFIGS = [
    (dict(model_type="bert"), "model_type"),
    (dict(hidden_size=64), "model_type"),
    (dict(model_type="llama", hidden_size=0), "hidden_size"),
    (dict(model_type="llama", hidden_size="64"), "hidden_size"),
    (dict(model_type="llama", hidden_size=64, num_attention_heads=4, num_key_value_heads=3),
     "num_key_value_heads"),
    (dict(model_type="llama", vocab_size=10, pad_token_id=10), "pad_token_id"),
    (dict(model_type="llama", initializer_range=-1), "initializer_range"),
    (dict(model_type="qwen3", tie_word_embeddings="yes"), "tie_word_embeddings"),
    (dict(model_type="llama", mlp_bias=1), "mlp_bias"),
    (dict(model_type="gpt2", n_embd=65, n_head=4), "n_embd"),
    (dict(model_type="gpt2", add_cross_attention=True), "add_cross_attention"),
]


@pytest.mark.parametrize("cfg,field", BAD_CONFIGS, ids=[f for _, f in BAD_CONFIGS])
def test_bad_config_fields_are_named(cfg, field, tmp_path):
    with pytest.raises(ValueError, match=field):
        ck.write(cfg, tmp_path / "out", seed=0, progress=False)
    assert not (tmp_path / "out").exists()


def test_bad_arguments_write_nothing(tmp_path):
    out = tmp_path / "out"
    for kw, exc, match in [
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=0, dtype="int8"), TypeError, "dtype"),
        (dict(seed=0, max_shard_size="5XB"), ValueError, "max_shard_size"),
        (dict(seed=0, recipe="torchtitan_llama3"), ValueError, "recipe"),
        (dict(seed=0, rank=1), ValueError, "world_size"),
        (dict(seed=0, rank=2, world_size=2), ValueError, "rank"),
        (dict(seed=0, threads=0), ValueError, "threads"),
    ]:
        with pytest.raises(exc, match=match):
            ck.write("llama-tiny", out, progress=False, **kw)
    with pytest.raises(ValueError, match="nope.*preset"):
        ck.write("nope", out, seed=0)
    with pytest.raises(ValueError, match=r"tensors\[1\] \(b\).*std"):
        ck.write([("a", (2,), None, "zeros"), ("b", (3,), "float32", ("normal", {"std": -1}))],
                 out, seed=0)
    with pytest.raises(ValueError, match="twice"):
        ck.write([("a", (2,), None, "zeros"), ("a", (3,), None, "ones")], out, seed=0)
    assert not out.exists()


def test_list_source_mixed_dtypes_and_keys(tmp_path):
    ts = [("w", (5, 7), "float32", sow.Spec("kaiming_uniform", a=5 ** 0.5)),
          ck.Tensor("e", (3, 3), "float64", "eye"),
          ck.Tensor("h", (4, 4), None, ("trunc_normal", {"std": 0.5}), key=17, zero_rows=(1,)),
          ("b", (5,), "float16", ("uniform", {"a": -1, "b": 1}))]
    ck.write(ts, tmp_path, seed=2, progress=False, recipe="mine")
    hdr, got = _read(tmp_path / "model.safetensors")
    assert [k for k in hdr if k != "__metadata__"] == ["e", "w", "h", "b"]  # F64, F32, BF16, F16
    for t in ck.tensors(ts, recipe="mine"):
        np.testing.assert_array_equal(got[t.name].view(np.uint8), _fill(t, 2).view(np.uint8))
    assert not (tmp_path / "config.json").exists()
    assert ck.verify(tmp_path, seed=2).ok  # from the specs the file records


def test_integer_and_bool_constants(tmp_path):
    """Integer/bool tensors hold constants, in their own dtype, ordered as safetensors orders
    dtypes, byte-identical to safetensors.numpy.save; verify rereads them; and a chunk size
    that cuts elements in two gives the same bytes."""
    import safetensors.numpy

    ts = [("w", (3, 5), "float32", "ones"), ("steps", (2, 3), "int64", ("constant", {"val": -7})),
          ("n", (5,), np.int32, ("constant", {"val": 2 ** 31 - 1})), ("m", (4,), "bool", "ones"),
          ("u", (9,), "uint8", ("constant", {"val": 255.0})), ("z", (2,), "int16", "zeros")]
    ck.write(ts, tmp_path / "a", seed=0, progress=False, recipe="mine", dtype="bfloat16")
    got = safetensors.numpy.load_file(str(tmp_path / "a" / "model.safetensors"))
    want = {"w": np.ones((3, 5), np.float32), "steps": np.full((2, 3), -7, np.int64),
            "n": np.full(5, 2 ** 31 - 1, np.int32), "m": np.ones(4, np.bool_),
            "u": np.full(9, 255, np.uint8), "z": np.zeros(2, np.int16)}
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v), k
    raw = (tmp_path / "a" / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    md = json.loads(raw[8:8 + n])["__metadata__"]
    ref = safetensors.numpy.save(want, metadata=md)  # several metadata keys: compare parsed
    (m,) = struct.unpack("<Q", ref[:8])
    assert json.loads(raw[8:8 + n]) == json.loads(ref[8:8 + m]) and raw[8 + n:] == ref[8 + m:]
    assert ck.verify(tmp_path / "a", seed=0).ok
    ck.write(ts, tmp_path / "b", seed=0, progress=False, recipe="mine", chunk_bytes=4099)
    assert (tmp_path / "b" / "model.safetensors").read_bytes() == raw


@pytest.mark.parametrize("dtype,spec,match", [
    ("int64", "normal", "holds a constant only"),
    ("int64", ("constant", {"val": 1.5}), "val must be an integer"),
    ("int8", ("constant", {"val": 128}), r"val=128 is outside the range of int8 \[-128, 127\]"),
    ("int64", ("constant", {"val": 2 ** 63}), "outside the range of int64"),
    ("bool", ("constant", {"val": 2}), r"outside the range of bool \[0, 1\]"),
    ("uint16", "zeros", "dtype must be one of"),
    ("complex64", "zeros", "dtype must be one of"),
])
def test_bad_integer_tensors_write_nothing(tmp_path, dtype, spec, match):
    with pytest.raises((TypeError, ValueError), match=r"tensors\[1\] \(c\)"):
        ck.write([("w", (2,), None, "ones"), ("c", (3,), dtype, spec)], tmp_path / "o", seed=0,
                 progress=False)
    with pytest.raises((TypeError, ValueError), match=match):
        ck.write([("w", (2,), None, "ones"), ("c", (3,), dtype, spec)], tmp_path / "o", seed=0,
                 progress=False)
    assert not (tmp_path / "o").exists()


def test_verify_finds_a_changed_byte(tmp_path):
    ck.write(MID, tmp_path, seed=4, progress=False, max_shard_size="2MB")
    rep = ck.verify(tmp_path, seed=4, sample=64)
    assert rep.ok and rep.tensors == len(ck.tensors(MID)) and len(rep.files) >= 3
    assert not ck.verify(tmp_path, seed=5, sample=0).ok
    assert not ck.verify(tmp_path, seed=4, recipe="torch", sample=0).ok
    f = sorted(tmp_path.glob("model-*.safetensors"))[1]
    hdr, _ = _read(f)
    name = sorted(k for k in hdr if k != "__metadata__")[-1]
    raw = bytearray(f.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    pos = 8 + n + hdr[name]["data_offsets"][1] - 1  # the last element is always checked
    raw[pos] ^= 0x40
    f.write_bytes(bytes(raw))
    rep = ck.verify(tmp_path, seed=4, sample=0)
    assert not rep.ok and any(name in m for m in rep.mismatches), rep
    raw[pos] ^= 0x40
    raw[20] = ord("X") if raw[20] != ord("X") else ord("Y")
    f.write_bytes(bytes(raw))
    assert any("header" in m for m in ck.verify(tmp_path, seed=4, sample=0).mismatches)


def test_presets_known_parameter_counts():
    """Published parameter counts of the real models."""
    counts = {"llama3-8b": 8_030_261_248, "llama3.2-1b": 1_235_814_400,
              "llama2-7b": 6_738_415_616, "mistral-7b": 7_241_732_096,
              "qwen2.5-0.5b": 494_032_768, "qwen2.5-1.5b": 1_543_714_304,
              "qwen3-0.6b": 596_049_920, "gpt2": 124_439_808, "gpt2-medium": 354_823_168}
    for name, n in counts.items():
        assert sum(t.numel for t in ck.tensors(name)) == n, name


def test_no_torch_needed(tmp_path):
    code = ("import sys, sow.checkpoint as ck; ck.write('qwen3-tiny', sys.argv[1], seed=0, "
            "progress=False); assert ck.verify(sys.argv[1], seed=0).ok; "
            "bad = [m for m in ('torch', 'transformers', 'safetensors') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                       text=True, timeout=120, env=_env())
    assert r.returncode == 0, r.stderr


def _complete_looking(d: Path) -> list[str]:
    return [p.name for p in d.iterdir() if p.name.endswith(".safetensors") or p.name.endswith(".json")]


def test_killed_writer_leaves_nothing_complete(tmp_path):
    """Rank 0 of two, SIGKILLed after it made the files and while it writes or waits for rank 1:
    only .sow-checkpoint/ is left; the next run refuses the folder until overwrite."""
    out = tmp_path / "c"
    code = _RANK.format(src=MID)
    p = subprocess.Popen([sys.executable, "-c", code, str(out), "0", "2"], env=_env(),
                         stderr=subprocess.PIPE)
    ready = out / ck.STATE_DIR / "ready"
    t0 = time.monotonic()
    while not ready.exists():
        assert p.poll() is None and time.monotonic() - t0 < 60
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    assert _complete_looking(out) == []
    assert any(n.endswith(".partial") for n in os.listdir(out / ck.STATE_DIR))
    with pytest.raises(ValueError, match="unfinished.*overwrite"):
        ck.write(MID, out, seed=9, progress=False)
    ck.write(MID, out, seed=9, progress=False, max_shard_size="2MB", overwrite=True)
    assert ck.verify(out, seed=9, sample=16).ok and not (out / ck.STATE_DIR).exists()


def test_failed_run_cleans_up(tmp_path, monkeypatch):
    """An error while writing (here: the disk "fills" at the third chunk) removes the partial
    files and says so."""
    from sow.checkpoint import _writer

    calls = {"n": 0}
    real = _writer._pwrite_all

    def failing(fd, view, offset):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(fd, view, offset)

    monkeypatch.setattr(_writer, "_pwrite_all", failing)
    with pytest.raises(OSError, match="no space left.*nothing that looks complete"):
        ck.write(MID, tmp_path, seed=0, progress=False, chunk_bytes=1 << 16)
    assert os.listdir(tmp_path) == []


def test_file_size_limit_is_a_clear_error(tmp_path):
    """RLIMIT_FSIZE below the file size: the CLI prints one line and exits 2 before computing
    a value; nothing is left."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (100000, 100000)); "
            "from sow.cli import main; sys.exit(main(['checkpoint', 'llama-tiny', '-o', "
            "sys.argv[1], '--seed', '0', '--quiet']))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c")], capture_output=True,
                       text=True, timeout=120, env=_env())
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "file too large" in lines[0], r.stderr
    assert os.listdir(tmp_path / "c") == []
