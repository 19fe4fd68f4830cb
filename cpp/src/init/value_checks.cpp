// The value checks of the initializers' arguments and their messages (value_checks.hpp).
#include "value_checks.hpp"

#include <cmath>
#include <string>

namespace sow::init_impl {

std::string py_repr(std::string_view s) {
  const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  static const char* hex = "0123456789abcdef";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else out += ch;
  }
  return out + q;
}

std::string py_list(std::initializer_list<std::string_view> items) {
  std::string out = "[";
  bool first = true;
  for (const auto s : items) {
    if (!first) out += ", ";
    out += py_repr(s);
    first = false;
  }
  return out + "]";
}

double real(double v, const char* name) {
  if (!std::isfinite(v)) fail(std::string(name) + " must be finite, got " + py_repr(v));
  return v;
}
double real_min(double v, const char* name, double min_value, bool inclusive) {
  real(v, name);
  if (inclusive && v < min_value) fail(std::string(name) + " must be >= " + py_repr(min_value) + ", got " + py_repr(v));
  if (!inclusive && v <= min_value) fail(std::string(name) + " must be > " + py_repr(min_value) + ", got " + py_repr(v));
  return v;
}
std::string_view choice(std::string_view v, const char* name, std::initializer_list<std::string_view> choices) {
  for (const auto c : choices)
    if (v == c) return v;
  fail(std::string(name) + " must be one of " + py_list(choices) + ", got " + py_repr(v));
}
std::int64_t positive_int(std::int64_t v, const char* name) {
  if (v < 1) fail(std::string(name) + " must be a positive int, got " + std::to_string(v));
  return v;
}

void check_shape(std::span<const std::int64_t> dims, const char* name) {
  unsigned __int128 prod = 1;
  for (const auto d : dims) {
    if (d < 0) fail(std::string(name) + " must not contain negative sizes, got " + py_tuple(dims));
    if (static_cast<std::uint64_t>(d) > max_elements)
      fail(std::string(name) + " " + py_tuple(dims) + " is too large: a size exceeds 2**56");
  }
  for (const auto d : dims) {
    prod *= static_cast<std::uint64_t>(d);
    if (prod > max_elements) break;
  }
  if (prod > max_elements) {
    // Python prints the exact element count; sizes are <= 2^56 each, so it fits in 128 bits
    // unless there are many dimensions: then fall back to the plain statement.
    unsigned __int128 p = 1;
    bool exact = true;
    for (const auto d : dims) {
      if (d != 0 && p > (~static_cast<unsigned __int128>(0)) / static_cast<std::uint64_t>(d)) {
        exact = false;
        break;
      }
      p *= static_cast<std::uint64_t>(d);
    }
    std::string count;
    if (exact) {
      if (p == 0) count = "0";
      while (p > 0) {
        count.insert(count.begin(), static_cast<char>('0' + static_cast<int>(p % 10)));
        p /= 10;
      }
    } else {
      count = "more than 2**128";
    }
    fail(std::string(name) + " " + py_tuple(dims) + " has " + count + " elements; sow supports at most 2**56");
  }
}

double finite(double v, const char* what, double given) {
  if (!std::isfinite(v))
    fail(std::string(what) + "=" + py_repr(given) + " is too large: the derived parameter " + py_repr(v) +
         " is not finite");
  return v;
}

dist for_type(const dist& d, dtype type, const char* initializer, const char* param, double value) {
  check_dist(d, type, 0, dist_origin{initializer, param, value});
  return d;
}

}  // namespace sow::init_impl
