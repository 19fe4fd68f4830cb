"""The C++ package: install it with CMake (no Python, no pybind11), build examples/cpp against the
installed prefix with find_package(sow), run it, and check every tensor it prints is bit-identical
to the Python package's for the same seed and key. Also: add_subdirectory(sow) from a consumer
project, and the C ABI.

Needs cmake and a C/C++ compiler (skipped with the reason otherwise). Ninja is used when present.
"""

from __future__ import annotations

import json
import math
import subprocess
import textwrap
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import sow
from cpp_build import CC, CMAKE, CXX, NVCC, ROOT, build_consumer, configure, install_sow, needs_cmake
from cpp_build import build as _build
from cpp_build import run as _run
from sow import _core

SEED = 2024

pytestmark = needs_cmake


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _fnv_np(a: np.ndarray) -> int:
    """FNV-1a 64 of the array's bytes (what main.cpp prints)."""
    return fnv1a64(np.ascontiguousarray(a).tobytes())


def expected_tensors(seed: int) -> dict[str, np.ndarray]:
    """What examples/cpp/main.cpp computes, through the Python package."""
    vocab, d, ff = 1000, 64, 256
    kw = dict(seed=seed)
    out: dict[str, np.ndarray] = {}
    out["embed.w"] = sow.trunc_normal((vocab, d), 0.0, 0.02, -0.04, 0.04, key="embed.w", **kw)
    for i in range(2):
        p = f"layers.{i}."
        out[p + "attn.w"] = sow.xavier_uniform((3 * d, d), key=p + "attn.w", **kw)
        out[p + "attn.b"] = sow.zeros((3 * d,))
        out[p + "mlp.w1"] = sow.kaiming_normal((ff, d), 0.0, "fan_in", "relu", key=p + "mlp.w1", **kw)
        out[p + "mlp.b1"] = sow.zeros((ff,))
        out[p + "mlp.w2"] = sow.kaiming_uniform((d, ff), math.sqrt(5.0), key=p + "mlp.w2", **kw)
        out[p + "norm.g"] = sow.ones((d,))
    whole = sow.lecun_normal((vocab, d), key="head.w", **kw)
    for rank in range(2):
        part = sow.lecun_normal((vocab, d), key="head.w", shard=[slice(rank * vocab // 2, (rank + 1) * vocab // 2)], **kw)
        np.testing.assert_array_equal(part, whole[rank * vocab // 2:(rank + 1) * vocab // 2])
        out[f"head.w@rank{rank}"] = part
    out["embed.w@bfloat16"] = sow.trunc_normal((vocab, d), 0.0, 0.02, -0.04, 0.04, key="embed.w", dtype="bfloat16", **kw)
    out["out.w@c_abi"] = sow.xavier_uniform((10, d), key="out.w", **kw)
    out["proj.w@c_plan"] = sow.kaiming_uniform((4 * d, d), 2.23606797749979, key="proj.w", **kw)
    out["proj.b@c_plan"] = sow.zeros((4 * d,))
    out["emb.w@c_plan"] = sow.normal((100, d), 0.0, 0.02, key="emb.w", dtype="bfloat16", **kw)
    return out


def _plan_error() -> str:
    """The message of examples/cpp/c_abi.c's bad plan, through sow.Plan."""
    plan = sow.Plan(seed=0)
    plan.add(np.zeros((2, 3), np.float32), "uniform", key=1, name="w")
    plan.add(np.zeros((2, 3), np.float32), ("sparse", {"sparsity": 1.5}), key=2, name="v")
    return _python_error(plan.execute)


def _python_error(fn) -> str:
    with pytest.raises(ValueError) as e:
        fn()
    return str(e.value)


def _check_output(stdout: str, seed: int) -> None:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    tensors = {x["label"]: x for x in lines if "label" in x}
    expected = expected_tensors(seed)
    assert sorted(tensors) == sorted(expected)
    for label, want in expected.items():
        got = tensors[label]
        assert tuple(got["shape"]) == want.shape, label
        bits = want.view(np.uint16 if want.dtype == ml_dtypes.bfloat16 else np.uint32).ravel()
        width = 2 * want.dtype.itemsize
        assert got["first8"] == [f"{int(b):0{width}x}" for b in bits[:8]], label
        assert got["fnv1a64"] == f"{_fnv_np(want):016x}", label
    errors = {k: v for x in lines for k, v in x.items() if k.endswith("_error")}
    assert errors["c_abi_error"]["status"] == 1  # SOW_INVALID_ARGUMENT
    assert errors["c_abi_error"]["message"] == _python_error(lambda: sow.xavier_uniform((2, 3), -1.0, seed=0))
    assert errors["c_plan_error"]["status"] == 1  # SOW_INVALID_ARGUMENT, and nothing written (-1)
    assert errors["c_plan_error"]["message"] == _plan_error()
    assert errors["cpp_error"] == _python_error(lambda: sow.kaiming_uniform((3, 4), 0.0, "fan_avg", seed=seed))


@pytest.fixture(scope="module")
def installed_prefix(sow_cpp_prefix) -> Path:
    """sow configured without Python, built and installed into a temporary prefix (once per session)."""
    return sow_cpp_prefix


def test_install_layout(installed_prefix):
    cfg = installed_prefix / "lib" / "cmake" / "sow"
    if not cfg.is_dir():  # lib64 on some distributions (GNUInstallDirs)
        cfg = installed_prefix / "lib64" / "cmake" / "sow"
    for name in ("sowConfig.cmake", "sowConfigVersion.cmake", "sowTargets.cmake"):
        assert (cfg / name).is_file(), name
    for h in ("init.hpp", "fill.hpp", "dist.hpp", "key.hpp", "sow.h"):
        assert (installed_prefix / "include" / "sow" / h).is_file(), h
    libs = list(installed_prefix.glob("lib*/libsow_core.a")) + list(installed_prefix.glob("lib*/sow_core.lib"))
    assert libs, "static library not installed"
    if _core.has_lapack:  # the same scipy-openblas32 the Python build found: sow::orthogonal too
        assert list(installed_prefix.glob("lib*/libsow_orthogonal.a")), "sow_orthogonal not installed"
        assert (installed_prefix / "include" / "sow" / "orthogonal.hpp").is_file()
        assert "sow::orthogonal" in (cfg / "sowTargets.cmake").read_text()


@pytest.mark.skipif(not _core.has_lapack, reason="sow built without a LAPACK: no sow::orthogonal")
def test_orthogonal_consumer_matches_python_bits(sow_test_programs):
    """A consumer linking sow::orthogonal from the installed package (find_package(sow COMPONENTS
    orthogonal), the LAPACK through sow::lapack) gets Python's bits and messages."""
    exe = sow_test_programs / "orthogonal_consumer"
    assert exe.is_file(), "tests/cpp/CMakeLists.txt did not find sow::orthogonal in the installed package"
    lines = _run([str(exe), str(SEED)]).stdout.splitlines()
    got = dict(line.split(" ", 1) for line in lines)
    expected = {
        "tall_f32": sow.orthogonal((64, 48), seed=SEED, key="w", threads=1),
        "blocks_f64": sow.orthogonal((48, 40), 2.0, seed=SEED, key="lstm", blocks=3, threads=1, dtype="float64"),
        "delta_f32": sow.delta_orthogonal((3, 3, 8, 16), seed=SEED, key="conv", threads=1),
    }
    for label, want in expected.items():
        assert got[label] == f"{_fnv_np(want):016x}", label
    assert got["error"] == _python_error(lambda: sow.orthogonal((12, 4), seed=SEED, blocks=5))
    assert got["lapack"] == _core.lapack_info()


def test_orthogonal_component_reports_a_missing_lapack(installed_prefix, tmp_path):
    """find_package(sow COMPONENTS orthogonal) fails with a message naming the library when the
    LAPACK the package recorded is gone; sow::core alone is still found."""
    if not (next(installed_prefix.glob("lib*/cmake/sow/sowConfig.cmake")).read_text().count(
            "set(sow_HAS_ORTHOGONAL ON)")):
        pytest.skip("package built without a LAPACK")
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(textwrap.dedent("""\
        cmake_minimum_required(VERSION 3.24)
        project(c LANGUAGES CXX)
        set(sow_LAPACK_LIBRARIES /nonexistent/libmylapack.so)
        find_package(sow CONFIG REQUIRED)
        message(STATUS "core ${sow_core_FOUND} orthogonal ${sow_orthogonal_FOUND}")
        find_package(sow CONFIG REQUIRED COMPONENTS orthogonal)
        """))
    r = subprocess.run([CMAKE, "-S", str(src), "-B", str(tmp_path / "b"), f"-DCMAKE_PREFIX_PATH={installed_prefix}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "core TRUE orthogonal FALSE" in r.stdout
    assert "/nonexistent/libmylapack.so" in r.stdout + r.stderr


def test_installed_headers_are_self_contained(installed_prefix, tmp_path):
    """Every installed header compiles on its own against the installed prefix alone: none reaches
    a header of cpp/src (the CPU engine's private ones) or needs another included first. sow/detail/
    holds what the CPU engine and cuda/ share (layout.hpp, value_range.hpp), so it is checked too."""
    include = installed_prefix / "include"
    headers = sorted(p.relative_to(include).as_posix() for p in include.rglob("*") if p.suffix in (".hpp", ".h"))
    assert "sow/detail/layout.hpp" in headers and "sow/detail/value_range.hpp" in headers, headers
    failures = []
    for h in headers:
        c = h.endswith(".h")
        tu = tmp_path / ("tu.c" if c else "tu.cpp")
        tu.write_text(f"#include <{h}>\n")
        cmd = [CC, "-std=c11"] if c else [CXX, "-std=c++20"]
        r = subprocess.run([*cmd, "-fsyntax-only", "-I", str(include), str(tu)], capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            failures.append(f"{h}:\n{r.stderr[-2000:]}")
    assert not failures, "\n".join(failures)


def test_example_matches_python_bits(installed_prefix, tmp_path):
    build = tmp_path / "example"
    build_consumer(ROOT / "examples" / "cpp", build, installed_prefix)
    exe = build / "init_model"
    r = _run([str(exe), str(SEED)])
    _check_output(r.stdout, SEED)


def test_find_package_version_check(installed_prefix, tmp_path):
    """sowConfigVersion.cmake (SameMajorVersion): this major.minor is found and reported as
    sow.__version__ (config.hpp's, the one version), the next major version is not."""
    major, minor, _ = (int(x) for x in sow.__version__.split("."))
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(textwrap.dedent(f"""\
        cmake_minimum_required(VERSION 3.24)
        project(v LANGUAGES CXX)
        find_package(sow {major}.{minor} CONFIG REQUIRED)
        message(STATUS "sow version is ${{sow_VERSION}}")
        find_package(sow {major + 1} CONFIG QUIET)
        if(sow_FOUND)
          message(FATAL_ERROR "sow {major + 1}.x must not be satisfied by ${{sow_VERSION}}")
        endif()
        """))
    out = configure(src, tmp_path / "b", f"-DCMAKE_PREFIX_PATH={installed_prefix}").stdout
    assert f"sow version is {sow.__version__}" in out


def test_installed_headers_and_c_abi_report_the_python_version(sow_test_programs):
    """SOW_VERSION_STRING, sow_version() and sow_stream_format() of the installed package agree
    with sow.__version__ and sow.STREAM_FORMAT."""
    out = dict(line.split(" ", 1) for line in _run([str(sow_test_programs / "sow_info")]).stdout.splitlines())
    major, minor, patch = (int(x) for x in sow.__version__.split("."))
    assert out["version_string"] == sow.__version__
    assert int(out["sow_version"]) == major * 10000 + minor * 100 + patch
    assert int(out["sow_stream_format"]) == sow.STREAM_FORMAT


def test_add_subdirectory(tmp_path):
    """A consumer project that add_subdirectory()s the source tree gets sow::core, without Python."""
    src = tmp_path / "consumer"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(textwrap.dedent(f"""\
        cmake_minimum_required(VERSION 3.24)
        project(consumer LANGUAGES C CXX)
        set(SOW_CUDA OFF CACHE STRING "")
        set(SOW_WITH_LAPACK OFF CACHE BOOL "")
        add_subdirectory("{ROOT.as_posix()}" sow)
        add_executable(consumer main.cpp)
        target_link_libraries(consumer PRIVATE sow::core)
        """))
    (src / "main.cpp").write_text(textwrap.dedent("""\
        #include <cstdio>
        #include <vector>
        #include <sow/init.hpp>
        #include <sow/sow.h>
        int main() {
          std::vector<float> w(32 * 16);
          sow::xavier_uniform_({w, {32, 16}}, {.seed = 7, .key = "layers.0.w"});
          std::vector<double> b(16);
          sow::uniform_({b, {16}}, {.seed = 7, .key = 3}, -1.0, 1.0);
          unsigned x;
          std::memcpy(&x, &w[5], 4);
          std::printf("%08x %.17g %s\\n", x, b[0], sow_calculate_gain("tanh", nullptr, nullptr) == SOW_INVALID_ARGUMENT ? sow_last_error() : "?");
        }
        """).replace("#include <cstdio>", "#include <cstdio>\n#include <cstring>"))
    build = tmp_path / "build"
    configure(src, build, "-DCMAKE_BUILD_TYPE=Release")
    cache = (build / "CMakeCache.txt").read_text()
    assert "SOW_BUILD_PYTHON:BOOL=OFF" in cache  # not top level: no Python extension by default
    _build(build, "consumer")
    out = _run([str(build / "consumer")]).stdout.split(" ", 2)
    w = sow.xavier_uniform((32, 16), seed=7, key="layers.0.w")
    b = sow.uniform((16,), -1.0, 1.0, seed=7, key=3, dtype="float64")
    assert out[0] == f"{int(w.view(np.uint32).ravel()[5]):08x}"
    assert float(out[1]) == float(b[0])
    assert out[2].strip() == "nonlinearity and gain_out must not be NULL"


@pytest.mark.skipif(NVCC is None, reason="needs nvcc (the CUDA half of the package)")
def test_cuda_package_orthogonal_api_without_a_device(tmp_path):
    """sow::cuda from an installed prefix (no LAPACK, one CUDA architecture to keep it quick): a
    consumer loads cuSOLVER through sow::cusolver_info() (no device needed), and orthogonal_cuda
    validates its arguments (std::invalid_argument, the CPU path's messages) before it looks for
    a device."""
    prefix = install_sow(tmp_path, ["-DSOW_BUILD_PYTHON=OFF", "-DSOW_CUDA=ON", "-DSOW_WITH_LAPACK=OFF",
                                    "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CUDA_ARCHITECTURES=90-real"],
                         targets=("sow_cuda",))
    src = tmp_path / "consumer"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(textwrap.dedent("""\
        cmake_minimum_required(VERSION 3.24)
        project(consumer LANGUAGES CXX)
        find_package(sow CONFIG REQUIRED)
        if(NOT TARGET sow::cuda)
          message(FATAL_ERROR "sow::cuda missing from a SOW_CUDA=ON install")
        endif()
        add_executable(consumer main.cpp)
        target_link_libraries(consumer PRIVATE sow::core sow::cuda)
        """))
    (src / "main.cpp").write_text(textwrap.dedent("""\
        #include <cstdint>
        #include <cstdio>
        #include <stdexcept>
        #include <vector>
        #include <sow/cuda.hpp>
        int main(int argc, char** argv) {
          for (int i = 1; i < argc; ++i) sow::cusolver_add_search_dir(argv[i]);
          std::printf("devices %d\\n", sow::cuda_device_count());
          try {
            std::printf("info %s\\n", sow::cusolver_info().c_str());
          } catch (const std::runtime_error& e) {
            std::printf("info-error %s\\n", e.what());
          }
          std::vector<float> host(12);
          const std::int64_t shape1[] = {12}, strides1[] = {4}, shape2[] = {3, 4}, strides2[] = {16, 4};
          sow::fill_target bad{host.data(), sow::dtype::float32, shape1, strides1};
          try {
            sow::orthogonal_cuda(bad, 1.0, 1, 2, 1, nullptr);
          } catch (const std::invalid_argument& e) {
            std::printf("invalid %s\\n", e.what());
          }
          sow::fill_target ok{host.data(), sow::dtype::float32, shape2, strides2};
          try {
            sow::orthogonal_cuda(ok, 1.0, 1, 2, 1, nullptr);
          } catch (const std::invalid_argument& e) {
            std::printf("refused %s\\n", e.what());  // with a device: host memory
          } catch (const std::runtime_error& e) {
            std::printf("refused %s\\n", e.what());  // without: no CUDA device
          }
        }
        """))
    cbuild = tmp_path / "cbuild"
    build_consumer(src, cbuild, prefix)
    from sow import _cusolver

    dirs = _cusolver.cusolver_search_dirs()
    out = dict(line.split(" ", 1) for line in
               _run([str(cbuild / "consumer"), *dirs]).stdout.splitlines())
    if dirs:
        assert out["info"].startswith("cuSOLVER 1"), out
    else:
        assert "info" in out or out["info-error"].startswith("cuSOLVER not found"), out
    assert out["invalid"] == "orthogonal needs a tensor with 2 or more dimensions, got 1"
    if int(out["devices"]) == 0:
        assert out["refused"].startswith("no CUDA device"), out
    else:
        assert "not CUDA device memory" in out["refused"], out
