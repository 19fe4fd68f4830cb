// Internal to the initializers (cpp/src/init/): the value checks of their arguments and the
// Python-compatible formatting of their messages. The messages are Python's (python/sow/
// _validate.py, _fans.py, init.py), including Python's repr() of floats and strings, so both
// languages say the same thing for the same input; every caller that checks an initializer's
// values (the initializers, the C ABI, the bindings) reaches these, so each rule is written once.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sow/detail/layout.hpp"  // detail::py_tuple
#include "sow/dist.hpp"
#include "sow/fill.hpp"

namespace sow::init_impl {

[[noreturn]] inline void fail(const std::string& what) { throw std::invalid_argument(what); }

// --- Python-compatible formatting ------------------------------------------------------------

/// repr(float), shared with the engine's messages (sow/dist.hpp).
inline std::string py_repr(double v) { return detail::repr(v); }
/// repr(str) for the printable strings option names are (quotes chosen as Python chooses them).
std::string py_repr(std::string_view s);
/// repr(list[str]): "['torch', 'jax']".
std::string py_list(std::initializer_list<std::string_view> items);
/// repr(tuple[int, ...]): "(2, 3)", "(5,)", "()" (the engine's, layout.hpp).
using detail::py_tuple;

// --- Value checks (the ValueError half of python/sow/_validate.py) ---------------------------

/// `v`, or "NAME must be finite, got V".
double real(double v, const char* name);
/// `v` finite and >= min_value (inclusive) or > min_value.
double real_min(double v, const char* name, double min_value, bool inclusive);
/// `v` when it is one of `choices`, else "NAME must be one of [...], got 'V'".
std::string_view choice(std::string_view v, const char* name, std::initializer_list<std::string_view> choices);
/// `v` >= 1.
std::int64_t positive_int(std::int64_t v, const char* name);
/// check_shape's value checks on an already-integer shape: no negative size, none above 2^56,
/// at most 2^56 elements (messages name `name`).
void check_shape(std::span<const std::int64_t> dims, const char* name = "shape");
/// A derived parameter that overflowed float64: parameter `what`, given as `given`, is to blame.
double finite(double v, const char* what, double given);
/// The initializer's distribution, checked as fill will check it for an output of `type`, with the
/// initializer's own parameter named in range errors (the rule itself: value_range.hpp).
dist for_type(const dist& d, dtype type, const char* initializer, const char* param, double value);

}  // namespace sow::init_impl
