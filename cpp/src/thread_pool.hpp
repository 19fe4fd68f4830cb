// Internal: the one thread pool of the library (CPU fills, orthogonal's panels and reflectors).
//
// Persistent workers, started lazily and kept for the life of the process, so that a parallel
// call on warm workers costs a wake-up instead of a thread start per call. Rules:
//   * `threads` (0 = hardware_threads(), at most max_threads) is how many pieces a caller may
//     split its work into; the threads that run the pieces are at most
//     min(threads, hardware_threads(), max_threads): the caller's own (it always works on its own
//     job, so a job finishes even when no worker is free) plus pool workers. The pool holds at
//     most min(hardware_threads(), max_threads) - 1 workers, whatever a caller asks: more threads
//     than hardware threads never make a CPU-bound fill faster, and each idle worker keeps its
//     stack (8 MiB of address space by default) for the life of the process; under an
//     address-space limit, hundreds of them left nothing for the caller's own allocations
//     (measured: threads=512 under RLIMIT_AS = 1 GiB took all of it). Asking for more threads
//     than that still splits the work as asked (tests rely on odd splits), on fewer threads;
//   * a worker that cannot be started (std::system_error under a pids or address-space limit, or
//     std::bad_alloc) is not an error: the call runs on the threads it has (the caller alone at
//     worst);
//   * a call made from inside a parallel body (a worker, or the caller while it works on its own
//     job) runs its items inline, so nesting never waits on the pool;
//   * the first exception thrown by an item stops the claiming of further items and is rethrown
//     on the caller once every item started has returned;
//   * any number of threads may call concurrently; their jobs share the workers;
//   * dispatch to warm workers: a finished worker polls (yielding) for 100 us before it sleeps,
//     and a caller whose helpers are still busy polls as long before it sleeps, so back-to-back
//     calls skip the futex wake-ups (measured on a 2-core VM with the second core idle, calls of
//     2 items of 20 us each: 21 us per call with polling, 78 us without, 40 us on one thread);
//   * after fork() the child starts with a fresh, empty pool (the parent's workers do not exist
//     there; its mutex may have been held at the fork).
// Which thread runs which item never affects values: every caller computes each item the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>

namespace sow::detail {

/// The most pieces a call splits into and the most threads it runs on (the caller's included).
/// 256: more than the cores of any machine this runs on today.
inline constexpr int max_threads = 256;

/// A call's piece count: 0 -> hardware_threads(); then in [1, max_threads]. `threads` >= 0
/// (callers validate it and name their argument).
int resolve_threads(int threads) noexcept;

/// Runs body(ctx, i) for every i in [0, count) on the calling thread and up to
/// min(resolve_threads(threads), hardware_threads(), count) - 1 pool workers; items are claimed one at a time in increasing
/// order. Returns when every item has run or, if one threw, rethrows the first exception after
/// every item already started has returned (items not yet claimed are skipped).
void parallel_for_impl(std::int64_t count, int threads, void (*body)(void*, std::int64_t), void* ctx);

template <class F>
void parallel_for(std::int64_t count, int threads, F&& f) {
  using fn = std::remove_reference_t<F>;
  parallel_for_impl(count, threads, [](void* c, std::int64_t i) { (*static_cast<fn*>(c))(i); },
                    const_cast<void*>(static_cast<const void*>(std::addressof(f))));
}

/// Workers the pool holds now (tests, diagnostics).
int pool_workers() noexcept;

}  // namespace sow::detail
