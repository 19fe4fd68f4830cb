// Internal: the kernel of the active instruction set.
#pragma once

#include "simd/kernel.hpp"

namespace sow::cpu {
run_fn active_kernel();
words_fn active_words();
}
