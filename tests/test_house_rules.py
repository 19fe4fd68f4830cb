"""House rules that hold across the tree, not inside one module: the suite's strict pytest
configuration (pyproject.toml) is in force."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cpp_build import ROOT


def test_pytest_configuration_is_strict(tmp_path):
    """Under pyproject.toml's options a stray warning fails its test, an unexpected pass of an
    xfail fails, an unknown marker is an error, and so is an unknown configuration key."""
    (tmp_path / "test_probe.py").write_text(textwrap.dedent("""\
        import warnings

        import pytest


        def test_warning():
            warnings.warn("stray", UserWarning)


        @pytest.mark.xfail(reason="expected to fail")
        def test_xpass():
            pass


        def test_ok():
            pass
        """))
    def pytest_run(config, test_file):
        cmd = [sys.executable, "-m", "pytest", "-c", str(config), "--rootdir", str(tmp_path), "-p", "no:cacheprovider",
               "-q", "-rA", str(test_file)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        return r.returncode, r.stdout + r.stderr

    rc, out = pytest_run(ROOT / "pyproject.toml", tmp_path / "test_probe.py")
    assert rc == 1, out
    assert "FAILED test_probe.py::test_warning" in out, out
    assert "FAILED test_probe.py::test_xpass" in out, out  # [XPASS(strict)]
    assert "PASSED test_probe.py::test_ok" in out, out

    (tmp_path / "test_marker.py").write_text("import pytest\n\n\n@pytest.mark.no_such_marker\ndef test_m():\n    pass\n")
    rc, out = pytest_run(ROOT / "pyproject.toml", tmp_path / "test_marker.py")
    assert rc != 0 and "no_such_marker" in out, out

    bad_config = tmp_path / "bad" / "pyproject.toml"
    bad_config.parent.mkdir()
    bad_config.write_text((ROOT / "pyproject.toml").read_text().replace(
        "[tool.pytest.ini_options]\n", "[tool.pytest.ini_options]\nno_such_option = 1\n"))
    rc, out = pytest_run(bad_config, tmp_path / "test_probe.py")
    assert rc != 0 and "no_such_option" in out, out
