// The library's thread pool (thread_pool.hpp has the rules). Jobs live on their caller's stack and
// sit in an intrusive list while they still have free helper slots; a worker takes a slot under
// the pool's mutex and registers itself (`active`), and the caller, once no item is left to
// claim, unlinks its job and waits only for the workers registered on it. No allocation happens
// per call (a failed allocation can then not leave a job half-submitted).
#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define SOW_HAVE_ATFORK 1
#else
#define SOW_HAVE_ATFORK 0
#endif

#include "sow/fill.hpp"

namespace sow::detail {

namespace {

// Read once: std::thread::hardware_concurrency() reads /sys on every call (2.3 us measured, glibc
// 2.36), more than a warm dispatch costs.
int hardware_count() noexcept {
  static const int n = std::clamp(hardware_threads(), 1, max_threads);
  return n;
}

// True on pool workers and on a caller while it works on its own job: nested calls run inline.
thread_local bool in_parallel_body = false;

struct job {
  void (*body)(void*, std::int64_t) = nullptr;
  void* ctx = nullptr;
  std::int64_t count = 0;
  std::atomic<std::int64_t> next{0};
  // Guarded by the pool's mutex.
  int slots = 0;                // workers that may still join
  std::atomic<int> active{0};  // workers working on it now (changed under the mutex; polled)
  job* prev = nullptr;
  job* after = nullptr;
  std::condition_variable idle;  // active dropped to 0
  // The first exception of an item; written once, under error_mutex.
  std::mutex error_mutex;
  std::exception_ptr error;

  void work() {
    for (;;) {
      const std::int64_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= count) return;
      try {
        body(ctx, i);
      } catch (...) {
        {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
        next.store(count, std::memory_order_relaxed);  // nobody claims another item
        return;
      }
    }
  }
};

class pool {
 public:
  pool() = default;
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  // Never destroyed (see instance()): workers block on `wake_` for the life of the process.

  void run(job& j, int helpers) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      grow(helpers);
      j.slots = std::min(helpers, static_cast<int>(workers_.size()));
      if (j.slots > 0) {
        link(j);
        // One wake-up per slot: a worker that is busy elsewhere finds the job when it next looks.
        for (int k = 0; k < j.slots; ++k) wake_.notify_one();
      }
    }
    in_parallel_body = true;
    j.work();
    in_parallel_body = false;
    std::unique_lock<std::mutex> lock(mutex_);
    if (j.slots > 0) unlink(j);
    j.slots = 0;
    if (j.active.load(std::memory_order_relaxed) == 0) return;
    // Helpers still on their last items: poll a while before sleeping (a sleeping caller pays a
    // futex wake-up when the last helper finishes), then wait under the mutex, which also orders
    // after the helper's final touch of `j`.
    lock.unlock();
    const auto until = std::chrono::steady_clock::now() + spin_for;
    while (j.active.load(std::memory_order_acquire) != 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    lock.lock();
    j.idle.wait(lock, [&] { return j.active.load(std::memory_order_relaxed) == 0; });
  }

  int workers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(workers_.size());
  }

 private:
  // Starts workers until there are `want` (callers pass at most max_threads - 1); stops at the
  // first one the system refuses, and runs with what it has.
  void grow(int want) {
    if (static_cast<int>(workers_.size()) >= want) return;
    try {
      if (workers_.capacity() < static_cast<std::size_t>(max_threads)) workers_.reserve(max_threads);
      while (static_cast<int>(workers_.size()) < want) workers_.emplace_back([this] { worker_main(); });
    } catch (const std::system_error&) {
    } catch (const std::bad_alloc&) {
    }
  }

  void link(job& j) {
    queued_.fetch_add(1, std::memory_order_relaxed);
    j.prev = tail_;
    j.after = nullptr;
    (tail_ ? tail_->after : head_) = &j;
    tail_ = &j;
  }

  void unlink(job& j) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    (j.prev ? j.prev->after : head_) = j.after;
    (j.after ? j.after->prev : tail_) = j.prev;
    j.prev = j.after = nullptr;
  }

  void worker_main() {
    in_parallel_body = true;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (head_ == nullptr) {
        // Poll a while before sleeping: back-to-back calls (many small tensors) then find their
        // helpers awake instead of paying a futex wake-up each.
        lock.unlock();
        const auto until = std::chrono::steady_clock::now() + spin_for;
        while (queued_.load(std::memory_order_relaxed) == 0 && std::chrono::steady_clock::now() < until)
          std::this_thread::yield();
        lock.lock();
        wake_.wait(lock, [&] { return head_ != nullptr; });
      }
      job& j = *head_;
      if (--j.slots == 0) unlink(j);
      j.active.fetch_add(1, std::memory_order_relaxed);
      lock.unlock();
      j.work();
      lock.lock();
      // Notified under the lock: the caller cannot return (and destroy `j`) before we release it.
      if (j.active.fetch_sub(1, std::memory_order_release) == 1) j.idle.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  job* head_ = nullptr;
  job* tail_ = nullptr;
  std::atomic<int> queued_{0};  // jobs linked (read without the mutex while polling)
  static constexpr std::chrono::microseconds spin_for{100};
};

std::atomic<pool*> the_pool{nullptr};
pool* abandoned = nullptr;  // the parent's pool in a forked child (kept reachable, never used)

#if SOW_HAVE_ATFORK
void after_fork_in_child() {
  abandoned = the_pool.load(std::memory_order_relaxed);
  the_pool.store(nullptr, std::memory_order_relaxed);
}
#endif

// Created on first use and intentionally never destroyed: destroying joinable std::threads would
// terminate the process, and joining at exit could wait on a caller still running.
pool& instance() {
  pool* p = the_pool.load(std::memory_order_acquire);
  if (p) return *p;
  auto* fresh = new pool;
  if (the_pool.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) {
#if SOW_HAVE_ATFORK
    static std::once_flag registered;
    std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
#endif
    return *fresh;
  }
  delete fresh;  // another thread won; ours never started a worker
  return *p;
}

}  // namespace

int resolve_threads(int threads) noexcept { return threads <= 0 ? hardware_count() : std::min(threads, max_threads); }

void parallel_for_impl(std::int64_t count, int threads, void (*body)(void*, std::int64_t), void* ctx) {
  if (count <= 0) return;
  const int nt = static_cast<int>(
      std::min<std::int64_t>(std::min(resolve_threads(threads), resolve_threads(0)), count));
  if (nt <= 1 || in_parallel_body) {
    for (std::int64_t i = 0; i < count; ++i) body(ctx, i);
    return;
  }
  pool* p;
  try {
    p = &instance();
  } catch (const std::bad_alloc&) {  // no memory for the pool: one thread, still correct
    for (std::int64_t i = 0; i < count; ++i) body(ctx, i);
    return;
  }
  job j;
  j.body = body;
  j.ctx = ctx;
  j.count = count;
  p->run(j, nt - 1);
  if (j.error) std::rethrow_exception(j.error);
}

int pool_workers() noexcept {
  pool* p = the_pool.load(std::memory_order_acquire);
  if (!p) return 0;
  try {
    return p->workers();
  } catch (...) {
    return -1;
  }
}

}  // namespace sow::detail
