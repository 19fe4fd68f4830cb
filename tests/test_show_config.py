"""sow.show_config(): the report is the live state of this installation (not a cached copy), it
never raises for a missing component, its arguments are checked, and the benchmarks use it
instead of private _core calls."""

from __future__ import annotations

import importlib.metadata
import re

import numpy as np
import pytest

import sow
from cpp_build import ROOT
from sow import _core

SECTIONS = ["sow", "cpu", "lapack", "cuda", "cusolver", "python"]


def test_dicts_mode_reports_the_installation():
    cfg = sow.show_config(mode="dicts")
    assert list(cfg) == SECTIONS
    assert cfg["sow"]["version"] == sow.__version__ == importlib.metadata.version("sow")
    assert cfg["sow"]["stream_format"] == sow.STREAM_FORMAT
    assert cfg["sow"]["compiler"] and cfg["sow"]["cplusplus"] >= 202002
    cpu = cfg["cpu"]
    assert cpu["active_isa"] == _core.isa()
    assert cpu["available_isas"] == _core.available_isas() and "scalar" in cpu["available_isas"]
    assert cpu["hardware_threads"] == _core.hardware_threads() >= 1
    assert cpu["thread_pool_cap"] == min(cpu["hardware_threads"], 256)
    assert 0 <= cpu["pool_workers_started"] < cpu["thread_pool_cap"]
    assert cfg["lapack"]["available"] is bool(_core.has_lapack)
    if _core.has_lapack:
        assert cfg["lapack"]["info"] == _core.lapack_info()
    cuda = cfg["cuda"]
    assert cuda["built"] is bool(_core.has_cuda)
    assert cuda["devices"] == _core.cuda_device_count()
    assert (cuda["unavailable_reason"] == "") == (cuda["devices"] > 0)
    assert isinstance(cfg["cusolver"]["loadable"], bool) and cfg["cusolver"]["info"]
    py = cfg["python"]
    assert py["numpy"] == np.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", py["version"])


def test_report_follows_the_active_isa(restore_isa):
    for isa in _core.available_isas():
        restore_isa.set_isa(isa)
        assert sow.show_config(mode="dicts")["cpu"]["active_isa"] == isa


def test_stdout_mode_prints_every_section(capsys):
    assert sow.show_config() is None
    out = capsys.readouterr().out
    for section in SECTIONS:
        assert re.search(rf"^{section}:$", out, re.M), section
    assert f"  version: {sow.__version__}\n" in out
    assert f"  active_isa: {_core.isa()}\n" in out
    assert f"  available_isas: {', '.join(_core.available_isas())}\n" in out
    assert sow.show_config(mode="stdout") is None
    assert capsys.readouterr().out == out


def test_missing_components_are_reported_not_raised(monkeypatch):
    from sow import _cusolver

    def no_cusolver() -> str:
        raise RuntimeError("cuSOLVER not found: tried nothing")

    monkeypatch.setattr(_cusolver, "load_cusolver", no_cusolver)
    if _core.has_cuda:
        assert sow.show_config(mode="dicts")["cusolver"] == {
            "loadable": False, "info": "cuSOLVER not found: tried nothing"}
    # A build without CUDA or LAPACK (the attributes a build without them has).
    monkeypatch.setattr(_core, "has_cuda", False)
    monkeypatch.setattr(_core, "has_lapack", False)
    monkeypatch.setattr(_core, "cuda_device_count", lambda: 0)
    monkeypatch.setattr(_core, "cuda_unavailable_reason", lambda: "sow was built without CUDA support")
    cfg = sow.show_config(mode="dicts")
    assert cfg["cuda"]["built"] is False and cfg["cuda"]["devices"] == 0
    assert cfg["cuda"]["unavailable_reason"] == "sow was built without CUDA support"
    assert cfg["cusolver"] == {"loadable": False, "info": "sow was built without CUDA support"}
    assert cfg["lapack"] == {"available": False, "info": "sow was built without a LAPACK"}


@pytest.mark.parametrize("mode,exc", [("yaml", ValueError), ("", ValueError), ("DICTS", ValueError),
                                      (True, TypeError), (None, TypeError), (1, TypeError)])
def test_bad_mode_is_refused_naming_it(mode, exc, capsys):
    with pytest.raises(exc, match="mode must be"):
        sow.show_config(mode)
    assert capsys.readouterr().out == ""


def test_exported():
    assert "show_config" in sow.__all__


def test_benchmarks_use_show_config_not_private_core_calls():
    for p in sorted((ROOT / "bench").glob("*.py")):
        text = p.read_text()
        assert not re.search(r"\b_core\b", text), f"{p.name} reaches into sow._core"
    assert "show_config" in (ROOT / "bench" / "bench.py").read_text()
