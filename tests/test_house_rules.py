"""House rules that hold across the tree, not inside one module: the suite's strict pytest
configuration (pyproject.toml) is in force; feature switches are always defined to 0 or 1."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

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


# ----------------------------------------------------------------------------------------------
# Feature switches: SOW_HAVE_* always defined to 0 or 1 and tested with #if.

SOURCE_DIRS = ("cpp", "cuda", "tests", "examples")
SOURCE_SUFFIXES = {".h", ".hpp", ".c", ".cpp", ".cu", ".cuh", ".inl"}


def _sources(root: Path) -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (root / d).rglob("*") if p.suffix in SOURCE_SUFFIXES)


def feature_switch_misuses(root: Path) -> list[str]:
    """Tests of a SOW_HAVE_* switch by definedness (#ifdef, #ifndef, defined()) in the sources,
    and CMake definitions of one to anything but 0, 1 or a $<BOOL:...>."""
    bad = []
    test = re.compile(r"^\s*#\s*(ifdef|ifndef|elifdef|elifndef)\s+SOW_HAVE_|defined\s*\(?\s*SOW_HAVE_")
    for p in _sources(root):
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
            if test.search(line):
                bad.append(f"{p.relative_to(root)}:{n}: {line.strip()}")
    cmake = [root / "CMakeLists.txt", *sorted((root / "cmake").glob("*.cmake")), root / "cuda" / "CMakeLists.txt"]
    for p in cmake:
        for m in re.finditer(r"\b(SOW_HAVE_\w+)=(\S+?)[\s)]", p.read_text()):
            if m.group(2) not in ("0", "1") and not m.group(2).startswith("$<BOOL:"):
                bad.append(f"{p.relative_to(root)}: {m.group(0).strip()}")
    return bad


def test_feature_switches_are_0_or_1_and_tested_with_if():
    assert feature_switch_misuses(ROOT) == []


def test_every_sow_target_makes_an_undefined_switch_an_error():
    """-Werror=undef on every target sow compiles: a source that tests a switch its target does not
    define fails to build."""
    top = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r"set\(SOW_WARNINGS [^)]*-Werror=undef", top)
    texts = top + (ROOT / "cmake" / "SowLapack.cmake").read_text() + (ROOT / "cuda" / "CMakeLists.txt").read_text()
    for target in ("sow_core", "sow_orthogonal", "_core", "sow_cuda"):
        assert re.search(rf"target_compile_options\({target} PRIVATE [^)]*\$\{{SOW_WARNINGS\}}", texts), target
    assert "-Xcompiler=-Werror=undef" in (ROOT / "cuda" / "CMakeLists.txt").read_text()
    assert re.search(r"target_compile_definitions\(_core PRIVATE SOW_HAVE_CUDA=\S+ SOW_HAVE_LAPACK=", top)


# ----------------------------------------------------------------------------------------------
# One version number (cpp/include/sow/config.hpp) and one list of initializers (sow::init_names,
# sow/plan.hpp), read by every layer.


def config_hpp_version(root: Path = ROOT) -> str:
    text = (root / "cpp" / "include" / "sow" / "config.hpp").read_text()
    parts = [re.search(rf"^#define SOW_VERSION_{p} (\d+)$", text, re.M) for p in ("MAJOR", "MINOR", "PATCH")]
    assert all(parts), "SOW_VERSION_MAJOR/MINOR/PATCH not found in config.hpp"
    return ".".join(m.group(1) for m in parts)


def test_one_version_number_read_by_every_layer():
    import importlib.metadata

    import sow
    from sow import _core

    v = config_hpp_version()
    assert sow.__version__ == v
    assert _core.__version__ == v and ".".join(map(str, _core.VERSION)) == v
    assert importlib.metadata.version("sow") == v  # the wheel's metadata, from pyproject's regex
    # No second copy: pyproject and CMake read config.hpp, Python reads _core.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^dynamic = \[.*\"version\".*\]$", pyproject, re.M)
    assert not re.search(r"^version\s*=", pyproject, re.M)
    assert 'input = "cpp/include/sow/config.hpp"' in pyproject
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r"^project\(sow VERSION \$\{_sow_version_MAJOR\}", cmake, re.M)
    assert not re.search(r"project\(sow VERSION \d", cmake)
    for p in (ROOT / "python" / "sow").rglob("*.py"):
        assert not re.search(r"__version__\s*(:\s*\w+\s*)?=\s*['\"]", p.read_text()), p


def test_pyproject_version_regex_reads_config_hpp():
    """The regex scikit-build-core applies (re.search with MULTILINE, then result.format)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        tomllib = __import__("pytest").importorskip("tomli")
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["scikit-build"]["metadata"]["version"]
    assert cfg["provider"] == "scikit_build_core.metadata.regex"
    m = re.search(cfg["regex"], (ROOT / cfg["input"]).read_text(), re.MULTILINE)
    assert m and cfg["result"].format(*m.groups(), **m.groupdict()) == config_hpp_version()


def _table_names() -> list[str]:
    from sow import _core

    return [d["name"] for d in _core.init_table()]


def test_one_list_of_initializers_read_by_every_layer():
    import sow
    from sow import _batch, init, plan

    names = _table_names()
    assert len(names) == len(set(names)) and names
    table = {d["name"]: d for d in __import__("sow")._core.init_table()}
    # Python: every initializer has its allocating and in-place form, exported; no in-place
    # public name without a table entry; the derived lists are the table's.
    for n in names:
        for f in (n, n + "_"):
            assert callable(getattr(sow, f)), f
            assert f in sow.__all__ and f in init.__all__, f
    inplace = {f[:-1] for f in sow.__all__ if f.endswith("_") and not f.startswith("_")}
    assert inplace == set(names)
    assert set(init.RANDOM_INITIALIZERS) == {n for n in names if table[n]["random"]}
    assert set(init.DETERMINISTIC_INITIALIZERS) == {n for n in names if not table[n]["random"]}
    assert set(_batch.ELEMENTWISE) == {n for n in names if table[n]["elementwise"]}
    assert list(plan.INITIALIZERS) == names
    assert {m for m in dir(sow.Generator) if not m.startswith("_")} >= set(init.RANDOM_INITIALIZERS)
    # C++: every initializer has its in-place function (init.hpp; orthogonal.hpp for the two that
    # need LAPACK), and the C ABI one function each (those two only through sow_plan_add).
    include = ROOT / "cpp" / "include" / "sow"
    cpp = (include / "init.hpp").read_text() + (include / "orthogonal.hpp").read_text()
    lapack_only = {"orthogonal", "delta_orthogonal"}
    for n in names:
        assert re.search(rf"\b{n}_?\(", cpp), f"no sow::{n}_ in init.hpp / orthogonal.hpp"
    c_abi = set(re.findall(r"\bsow_(\w+)\(", (include / "sow.h").read_text()))
    not_initializers = {"calculate_gain", "calculate_fan_in_and_fan_out", "key_hash", "last_error", "version",
                        "stream_format"}
    c_inits = {f for f in c_abi if not f.startswith("plan_") and f not in not_initializers}
    assert c_inits == set(names) - lapack_only
    # Docs: the README names every one.
    readme = (ROOT / "README.md").read_text()
    for n in names:
        assert re.search(rf"`[^`\n]*\b{n}_?\b[^`\n]*`", readme), f"README does not name {n}"


# ----------------------------------------------------------------------------------------------
# Optional dependencies stay optional: sow.jax / sow.flax load without jax or flax, and a
# function that needs one imports it on first use (sow.torch's rule: tests/test_torch_module.py).


def test_import_sow_imports_no_jax_flax_or_torch():
    code = ("import sys, sow, sow.jax, sow.flax; sow.Recipe; sow.jax.__doc__; sow.flax.__doc__; "
            "bad = [m for m in ('jax', 'flax', 'torch') if m in sys.modules]; assert not bad, bad; "
            "import importlib.util as u\n"
            "if u.find_spec('jax') is not None:\n"
            "    sow.jax.make_array; assert 'jax' in sys.modules and 'flax' not in sys.modules\n"
            "    sow.flax.init_nnx; assert 'flax' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
