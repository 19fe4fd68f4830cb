// Runtime choice of the SIMD kernel: detected once, cached, overridable by SOW_ISA or set_isa()
// so that the tests run every kernel the CPU supports.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "dispatch.hpp"

namespace sow::cpu {
namespace {

struct isa_entry {
  const char* name;
  run_fn fn;
  bool (*supported)();
  words_fn words;
};

bool has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}
bool has_avx512bf16() {
#if defined(__x86_64__) || defined(__i386__)
  return has_avx512() && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}
bool has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // FMA: the inverse normal CDF's fused multiply-adds (stream format 3); every AVX2 CPU has it.
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}
bool always() { return true; }

// Best first.
const isa_entry isas[] = {
#if SOW_HAVE_X86_KERNELS
    {"avx512bf16", &avx512bf16::run, &has_avx512bf16, &avx512bf16::words},
    {"avx512", &avx512::run, &has_avx512, &avx512::words},
    {"avx2", &avx2::run, &has_avx2, &avx2::words},
#endif
    {"scalar", &scalar::run, &always, &scalar::words},
};

std::atomic<const isa_entry*> active{nullptr};
std::once_flag init_once;

const isa_entry* find(std::string_view name) {
  for (const auto& e : isas)
    if (name == e.name) return &e;
  return nullptr;
}

void choose(std::string_view name) {
  const isa_entry* e = find(name);
  if (!e) throw std::invalid_argument("unknown instruction set '" + std::string(name) + "' (known: avx512bf16, avx512, avx2, scalar)");
  if (!e->supported()) throw std::invalid_argument("this CPU cannot run the '" + std::string(name) + "' kernels");
  active.store(e);
}

const isa_entry* current() {
  std::call_once(init_once, [] {
    if (const char* env = std::getenv("SOW_ISA"); env && *env) {
      choose(env);  // a bad SOW_ISA is an error, not a silent fallback
      return;
    }
    for (const auto& e : isas)
      if (e.supported()) {
        active.store(&e);
        return;
      }
  });
  const isa_entry* e = active.load();
  if (!e) throw std::runtime_error("no usable instruction set (SOW_ISA is invalid?)");
  return e;
}

}  // namespace

run_fn active_kernel() { return current()->fn; }

words_fn active_words() { return current()->words; }

}  // namespace sow::cpu

namespace sow {

std::string active_isa() { return cpu::current()->name; }

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const auto& e : cpu::isas)
    if (e.supported()) out.emplace_back(e.name);
  return out;
}

void set_isa(std::string_view name) {
  try {
    cpu::current();
  } catch (const std::exception&) {
  }
  cpu::choose(name);
}

int hardware_threads() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

}  // namespace sow
