// The engine's one way of using several cores: a worker count from the caller's
// `threads` (0 = every core) and a striped parallel loop whose results do not
// depend on the number of threads (each task writes only its own outputs).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace steppe {

/// Threads to use for `tasks` independent tasks: `requested` (> 0) or every core,
/// never more than there are tasks, at least one.
inline size_t worker_count(int requested, size_t tasks) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t wanted = requested > 0 ? static_cast<size_t>(requested) : cores;
  return std::clamp<size_t>(wanted, 1, std::max<size_t>(tasks, 1));
}

/// Threads for a scan of `rows` rows: below ~20k rows a thread costs more than it gives.
inline size_t row_workers(int requested, int64_t rows) {
  return worker_count(requested, static_cast<size_t>(std::max<int64_t>(1, rows / 20000)));
}

/// work(task) for every task < tasks, striped over `workers` threads (the caller's
/// thread is one of them). The first exception, in worker order, is rethrown once
/// every thread has finished, so no thread outlives the data it reads.
template <class Work>
void parallel_for(size_t tasks, size_t workers, Work&& work) {
  if (workers <= 1) {
    for (size_t i = 0; i < tasks; ++i) work(i);
    return;
  }
  std::vector<std::exception_ptr> errors(workers);
  auto run = [&](size_t part) {
    try {
      for (size_t i = part; i < tasks; i += workers) work(i);
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t p = 1; p < workers; ++p) pool.emplace_back(run, p);
  run(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace steppe
