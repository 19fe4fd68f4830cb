"""``sow diagnose``: the table and verdicts printed, --compare / --depth-sweep / --plot, the
message when matplotlib is missing, and errors as one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sow.cli import main

TANH = ["diagnose", "--widths", "1", "100", "100", "100", "1", "--activation", "tanh",
        "--init", "uniform", "--param", "a=-5", "--param", "b=5"]
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_issue_command_prints_a_table_and_the_verdict(capsys):
    assert main(TANH) == 0
    out = capsys.readouterr().out
    assert "== init: uniform(a=-5,b=5)" in out and "verdict: saturated" in out
    assert out.count("layers.") == 4 and "saturated" in out.splitlines()[1]


def test_compare_depth_sweep_and_plot(tmp_path, capsys):
    png = tmp_path / "relu.png"
    argv = ["diagnose", "--widths", "20", "40", "1", "--activation", "relu", "--init", "normal",
            "--param", "std=1", "--compare", "kaiming_uniform:nonlinearity=relu",
            "normal:std=0.01", "--depth-sweep", "30", "--batch-size", "64", "--plot", str(png)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("summary: normal(std=1): exploding; kaiming_uniform(nonlinearity=relu): healthy; "
            "normal(std=0.01): vanishing") in out
    assert "   30  layers.30  40->1" in out  # 30 hidden layers of 40, then the output
    data = png.read_bytes()
    assert data[:8] == PNG and len(data) > 20_000
    assert f"plot: {png}" in out


def test_missing_matplotlib_is_a_clear_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    png = tmp_path / "x.png"
    assert main(TANH + ["--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "pip install 'sow[plot]'" in err
    assert not png.exists()


@pytest.mark.parametrize("extra, match", [
    (["--activation", "swoosh"], "activation"),
    (["--compare", "uniform:a"], "--compare"),
    (["--depth-sweep", "0"], "--depth-sweep"),
    (["--input", "uniform:a=1,b=0"], "input"),
    (["--init", "no_such"], "init"),
])
def test_errors_are_one_line_exit_2(extra, match, capsys):
    argv = ["diagnose", "--widths", "3", "4", "2"] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sow diagnose: error:") and match in err and "\n" not in err


def test_widths_required_and_param_needs_init(capsys):
    assert main(["diagnose"]) == 2
    assert main(["diagnose", "--widths", "3", "2", "--param", "a=1"]) == 2
    assert "--param needs --init" in capsys.readouterr().err


def test_console_entry_point():
    r = subprocess.run([sys.executable, "-m", "sow.cli", "diagnose", "--widths", "4", "8", "2",
                        "--activation", "sigmoid", "--batch-size", "16"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "verdict: healthy" in r.stdout
    r = subprocess.run([sys.executable, "-m", "sow.cli", "--help"], capture_output=True,
                       text=True, timeout=120)
    assert "diagnose --widths" in r.stdout
