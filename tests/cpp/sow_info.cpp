// The version and stream format an installed sow reports through its C++ header and its C ABI
// (tests/test_cpp_package.py compares them with the Python package's).
#include <cstdio>

#include "sow/config.hpp"
#include "sow/sow.h"

int main() {
  std::printf("version_string %s\n", SOW_VERSION_STRING);
  std::printf("sow_version %d\n", sow_version());
  std::printf("sow_stream_format %d\n", sow_stream_format());
}
