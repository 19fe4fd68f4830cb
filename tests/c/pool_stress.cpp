// Stress test of the library's thread pool (cpp/src/thread_pool.cpp), run by
// tests/test_threads_resources.py under ThreadSanitizer (or ASan/UBSan) where the compiler has it.
// hardware_threads() is replaced here by a fixed 8 so that the pool has 7 workers even on a
// 2-core machine. Prints "FAIL ..." lines and exits non-zero on a failed check.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "thread_pool.hpp"

namespace sow {
int hardware_threads() noexcept { return 8; }
}  // namespace sow

using sow::detail::parallel_for;

namespace {

std::atomic<int> failures{0};

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL %s\n", what.c_str());
    failures.fetch_add(1);
  }
}

// Every item exactly once, for counts around the thread count and far above it.
void exactly_once() {
  for (const std::int64_t count : {1, 2, 7, 8, 9, 100, 10007})
    for (const int threads : {0, 1, 2, 3, 8, 9, 1000}) {
      std::vector<std::atomic<int>> seen(static_cast<std::size_t>(count));
      parallel_for(count, threads, [&](std::int64_t i) { seen[static_cast<std::size_t>(i)].fetch_add(1); });
      bool ok = true;
      for (auto& s : seen) ok = ok && s.load() == 1;
      check(ok, "exactly once: count " + std::to_string(count) + " threads " + std::to_string(threads));
    }
  check(sow::detail::pool_workers() <= 7, "pool holds at most hardware_threads() - 1 workers, has " +
                                              std::to_string(sow::detail::pool_workers()));
}

// The first exception reaches the caller; no item runs twice; the pool still works afterwards.
void exceptions() {
  for (int rep = 0; rep < 50; ++rep) {
    std::vector<std::atomic<int>> seen(1000);
    try {
      parallel_for(1000, 8, [&](std::int64_t i) {
        seen[static_cast<std::size_t>(i)].fetch_add(1);
        if (i == 123 || i == 777) throw std::runtime_error("item " + std::to_string(i));
      });
      check(false, "exception not rethrown");
    } catch (const std::runtime_error& e) {
      const std::string m = e.what();
      check(m == "item 123" || m == "item 777", "unexpected exception " + m);
    }
    bool ok = true;
    for (auto& s : seen) ok = ok && s.load() <= 1;
    check(ok, "an item ran twice after an exception");
  }
  std::atomic<std::int64_t> sum{0};
  parallel_for(1000, 8, [&](std::int64_t i) { sum.fetch_add(i); });
  check(sum.load() == 999 * 1000 / 2, "pool broken after exceptions");
}

// A parallel body that calls parallel_for again (on a worker or on the caller) runs it inline.
void nested() {
  std::atomic<std::int64_t> sum{0};
  parallel_for(64, 8, [&](std::int64_t i) {
    parallel_for(64, 8, [&](std::int64_t j) {
      parallel_for(4, 8, [&](std::int64_t k) { sum.fetch_add(i * 64 * 4 + j * 4 + k); });
    });
  });
  const std::int64_t n = 64 * 64 * 4;
  check(sum.load() == n * (n - 1) / 2, "nested sum");
}

// Many callers at once, many small jobs each (a plan of many small tensors), mixed thread counts.
void concurrent_callers() {
  constexpr int callers = 12, calls = 300;
  std::vector<std::thread> ts;
  for (int c = 0; c < callers; ++c)
    ts.emplace_back([c] {
      for (int k = 0; k < calls; ++k) {
        const std::int64_t count = 1 + (c * 31 + k * 17) % 40;
        const int threads = 1 + (c + k) % 9;
        std::vector<std::int64_t> out(static_cast<std::size_t>(count), -1);
        parallel_for(count, threads, [&](std::int64_t i) { out[static_cast<std::size_t>(i)] = i * i + c; });
        for (std::int64_t i = 0; i < count; ++i)
          if (out[static_cast<std::size_t>(i)] != i * i + c) {
            check(false, "concurrent caller " + std::to_string(c) + " call " + std::to_string(k));
            return;
          }
      }
    });
  for (auto& t : ts) t.join();
}

}  // namespace

int main() {
  exactly_once();
  exceptions();
  nested();
  concurrent_callers();
  exactly_once();
  std::printf("workers %d failures %d\n", sow::detail::pool_workers(), failures.load());
  return failures.load() != 0;
}
