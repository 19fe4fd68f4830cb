# Locates the LAPACK that orthogonal initialization (cpp/src/orthogonal.cpp) calls, and defines the
# target sow_orthogonal. No manual step on a fresh machine: by default it asks the Python package
# scipy-openblas32 (a build requirement and a runtime dependency of sow, see pyproject.toml) where its
# headers and libscipy_openblas.so are.
#
# Cache variables (all optional):
#   SOW_LAPACK_LIBRARIES   a LAPACK to link instead (e.g. /usr/lib/x86_64-linux-gnu/liblapack.so);
#                          then SOW_LAPACK_PREFIX is the symbol prefix ("" by default) and
#                          SOW_LAPACK_OPENBLAS=ON says it exports openblas_set_num_threads.
#   SOW_PYTHON_FOR_LAPACK  the interpreter to ask (default: Python_EXECUTABLE, else python3 on PATH).
# Result: SOW_HAVE_LAPACK (ON/OFF), SOW_LAPACK_LIBDIR (the directory of the library, for RPATHs),
# SOW_LAPACK_LINK (what sow_orthogonal links: recorded in the installed package's sowConfig.cmake).

set(SOW_HAVE_LAPACK OFF)
set(SOW_LAPACK_LIBDIR "")
set(SOW_LAPACK_LINK "")
set(SOW_LAPACK_LIBRARIES "" CACHE FILEPATH "LAPACK library to link instead of scipy-openblas32")
set(SOW_LAPACK_PREFIX "" CACHE STRING "Symbol prefix of SOW_LAPACK_LIBRARIES (e.g. scipy_)")
option(SOW_LAPACK_OPENBLAS "SOW_LAPACK_LIBRARIES is an OpenBLAS (has openblas_set_num_threads)" OFF)

set(_sow_lapack_lib "")
set(_sow_lapack_inc "")
set(_sow_lapack_prefix "${SOW_LAPACK_PREFIX}")
set(_sow_lapack_openblas ${SOW_LAPACK_OPENBLAS})

if(SOW_LAPACK_LIBRARIES)
  set(_sow_lapack_lib "${SOW_LAPACK_LIBRARIES}")
else()
  if(SOW_PYTHON_FOR_LAPACK)
    set(_sow_py "${SOW_PYTHON_FOR_LAPACK}")
  elseif(Python_EXECUTABLE)
    set(_sow_py "${Python_EXECUTABLE}")
  elseif(Python3_EXECUTABLE)
    set(_sow_py "${Python3_EXECUTABLE}")
  else()
    find_program(_sow_py NAMES python3 python)
  endif()
  if(_sow_py)
    execute_process(
      COMMAND "${_sow_py}" -c
        "import os, scipy_openblas32 as s; print(s.get_include_dir()); print(os.path.join(s.get_lib_dir(), s.get_library(True)))"
      OUTPUT_VARIABLE _sow_out ERROR_VARIABLE _sow_err RESULT_VARIABLE _sow_rc
      OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(_sow_rc EQUAL 0)
      string(REPLACE "\n" ";" _sow_lines "${_sow_out}")
      list(GET _sow_lines 0 _sow_lapack_inc)
      list(GET _sow_lines 1 _sow_lapack_lib)
      set(_sow_lapack_prefix "scipy_")
      set(_sow_lapack_openblas ON)
      message(STATUS "sow: LAPACK from scipy-openblas32: ${_sow_lapack_lib}")
    else()
      message(STATUS "sow: scipy-openblas32 not importable by ${_sow_py} (${_sow_err})")
    endif()
  endif()
  if(NOT _sow_lapack_lib)
    find_package(LAPACK QUIET)
    if(LAPACK_FOUND)
      set(_sow_lapack_lib "${LAPACK_LIBRARIES}")
      message(STATUS "sow: LAPACK from find_package(LAPACK): ${_sow_lapack_lib}")
    endif()
  endif()
endif()

if(_sow_lapack_lib)
  set(SOW_HAVE_LAPACK ON)
  list(GET _sow_lapack_lib 0 _sow_first)
  get_filename_component(SOW_LAPACK_LIBDIR "${_sow_first}" DIRECTORY)
  # The archive sow_orthogonal (libsow_orthogonal.a) and sow::orthogonal (sow_orthogonal_whole),
  # which links it whole: orthogonal.cpp registers the plan backend (plan_backend.hpp) from a
  # static initializer, which a plain static link drops when a consumer calls nothing of
  # orthogonal.cpp itself, only sow::execute on a plan with orthogonal items
  # (tests/cpp/plan_orthogonal_consumer.cpp).
  add_library(sow_orthogonal STATIC cpp/src/orthogonal.cpp)
  set_target_properties(sow_orthogonal PROPERTIES EXPORT_NAME orthogonal_archive)
  target_include_directories(sow_orthogonal PRIVATE cpp/src)
  # Installed, the LAPACK is sow::lapack, which sowConfig.cmake defines from the path recorded here
  # (sow_LAPACK_LIBRARIES), so that a consumer can point it elsewhere if the library moved.
  target_link_libraries(sow_orthogonal PUBLIC sow_core "$<BUILD_INTERFACE:${_sow_lapack_lib}>"
                        "$<INSTALL_INTERFACE:sow::lapack>")
  set(SOW_LAPACK_LINK "${_sow_lapack_lib}")
  if(_sow_lapack_openblas)
    set(_sow_ob 1)
  else()
    set(_sow_ob 0)
  endif()
  target_compile_definitions(sow_orthogonal PRIVATE SOW_LAPACK_PREFIX=${_sow_lapack_prefix} SOW_LAPACK_OPENBLAS=${_sow_ob})
  target_compile_options(sow_orthogonal PRIVATE ${SOW_FP_FLAGS} ${SOW_WARNINGS})
  add_library(sow_orthogonal_whole INTERFACE)
  set_target_properties(sow_orthogonal_whole PROPERTIES EXPORT_NAME orthogonal)
  # (install(EXPORT) does not rename a target inside $<LINK_LIBRARY>: the installed name is spelled out.)
  target_link_libraries(sow_orthogonal_whole INTERFACE
                        "$<BUILD_INTERFACE:$<LINK_LIBRARY:WHOLE_ARCHIVE,sow_orthogonal>>"
                        "$<INSTALL_INTERFACE:$<LINK_LIBRARY:WHOLE_ARCHIVE,sow::orthogonal_archive>>")
  add_library(sow::orthogonal ALIAS sow_orthogonal_whole)
else()
  message(WARNING "sow: no LAPACK found (pip install scipy-openblas32, or set SOW_LAPACK_LIBRARIES); "
                  "building without orthogonal initialization")
endif()
