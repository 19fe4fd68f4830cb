"""The ``sow`` command's checkpoint, verify and presets subcommands (the one-tensor command's
tests are in test_errors.py): what they write, print and exit with."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys

import pytest

import sow.checkpoint as ck
from sow import cli


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_checkpoint_then_verify(tmp_path):
    d = str(tmp_path / "ckpt")
    code, out, err = run_main(["checkpoint", "gpt2-tiny", "-o", d, "--seed", "0", "--threads", "1",
                               "--max-shard-size", "200KB"])
    assert code == 0, err
    files = sorted(os.listdir(d))
    assert files == ["config.json", "model-00001-of-00002.safetensors",
                     "model-00002-of-00002.safetensors", "model.safetensors.index.json"]
    n = sum(t.numel for t in ck.tensors("gpt2-tiny"))
    for word in (f"{n:,} parameters", "2 file(s)", "GB/s", "peak RSS"):
        assert word in out, out
    assert "sow checkpoint" in err  # the progress display
    code, out, err = run_main(["verify", d, "--seed", "0"])
    assert code == 0 and "OK" in out, out + err
    code, out, err = run_main(["verify", d, "--seed", "1", "--sample", "8"])
    assert code == 1 and "MISMATCH" in out and "seed" in out


def test_checkpoint_quiet_and_same_bytes_as_the_api(tmp_path):
    code, out, err = run_main(["checkpoint", "qwen3-tiny", "-o", str(tmp_path / "a"), "--seed", "5",
                               "--quiet", "--dtype", "float16"])
    assert code == 0 and out == "" and err == "", err
    ck.write("qwen3-tiny", tmp_path / "b", seed=5, dtype="float16", progress=False)
    for name in os.listdir(tmp_path / "b"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


BAD = [
    (["checkpoint", "nope", "-o", "{d}", "--seed", "0"], "preset"),
    (["checkpoint", "llama-tiny", "-o", "{d}", "--seed", "-1"], "seed"),
    (["checkpoint", "llama-tiny", "-o", "{d}", "--seed", "0", "--dtype", "int8"], "dtype"),
    (["checkpoint", "llama-tiny", "-o", "{d}", "--seed", "0", "--max-shard-size", "5 parsecs"],
     "max_shard_size"),
    (["checkpoint", "llama-tiny", "-o", "{d}", "--seed", "0", "--rank", "1"], "world_size"),
    (["checkpoint", "{cfg}", "-o", "{d}", "--seed", "0"], "num_key_value_heads"),
    (["verify", "{d}", "--seed", "0"], "not a directory"),
]


@pytest.mark.parametrize("argv,match", BAD, ids=[a[1] + "-" + m for a, m in BAD])
def test_errors_are_one_line_exit_2(argv, match, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"model_type": "llama", "num_attention_heads": 4, "num_key_value_heads": 3}')
    d = tmp_path / "out"
    code, out, err = run_main([a.format(d=d, cfg=cfg) for a in argv])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sow: error:") and match in lines[0], err
    assert not d.exists()


def test_non_empty_dir_refused_then_overwrite(tmp_path):
    (tmp_path / "x").write_text("")
    code, _, err = run_main(["checkpoint", "llama-tiny", "-o", str(tmp_path), "--seed", "0"])
    assert code == 2 and "not empty" in err and "--overwrite" in err
    code, _, err = run_main(["checkpoint", "llama-tiny", "-o", str(tmp_path), "--seed", "0",
                             "--overwrite", "--quiet"])
    assert code == 0, err


def test_presets_and_help():
    code, out, _ = run_main(["presets"])
    assert code == 0
    for name in ck.PRESETS:
        assert name in out
    assert "8.030 B parameters" in out  # llama3-8b
    code, out, _ = run_main(["--help"])
    assert code == 0 and "sow checkpoint" in out and "sow verify" in out and "examples" in out
    for cmd in ("checkpoint", "verify"):
        with contextlib.redirect_stdout(io.StringIO()) as buf:
            code = cli.main([cmd, "--help"])
        assert code == 0 and "example" in buf.getvalue()


def test_one_tensor_command_is_still_there(tmp_path):
    code, out, err = run_main(["tensor", "normal", "--shape", "10", "--seed", "1", "-o",
                               str(tmp_path / "a.npy")])
    assert code == 0 and "mean" in out, err
    code, _, err = run_main([])
    assert code == 2 and "INIT" in err


def test_console_script_checkpoint(tmp_path):
    exe = shutil.which("sow")
    if exe is None:
        pytest.skip("the `sow` console script is not on PATH")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    r = subprocess.run([exe, "checkpoint", "llama-tiny", "-o", str(tmp_path / "c"), "--seed", "0"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "sow.cli", "verify", str(tmp_path / "c"), "--seed",
                        "0"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr
