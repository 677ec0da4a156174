// ncgpu native addon: a small persistent thread pool.
//
// One process-wide pool serves every parallel loop in cpu_ops.cc. The calling
// thread always takes part in the work, so a pool of N threads starts N - 1
// workers. parallel_for() blocks until every chunk has run.
//
// Concurrency rules:
//  * Only one parallel_for() uses the workers at a time. A call made while the
//    workers are busy (for example from a second AsyncWorker thread) or from
//    inside a worker runs the whole range inline on the calling thread, so it
//    never waits on another caller and never deadlocks.
//  * The loop body must not throw: validate before entering the loop.
//
// Lifetime: the pool is created on first use and intentionally never
// destroyed. Its workers sleep on a condition variable and do not keep the
// Node event loop alive; at process exit the operating system ends them. Not
// running a destructor avoids tearing the pool down while a libuv thread might
// still be inside parallel_for() during exit.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ncgpu {

class ThreadPool {
 public:
  // The process-wide pool. Size: NCGPU_THREADS if set to a positive integer,
  // else std::thread::hardware_concurrency().
  static ThreadPool& instance() {
    static ThreadPool* pool = new ThreadPool(default_threads());
    return *pool;
  }

  static int default_threads() {
    if (const char* env = std::getenv("NCGPU_THREADS")) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (end != env && v > 0) return static_cast<int>(std::min<long>(v, 1024));
    }
    unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
  }

  // Number of threads that share a parallel_for (workers + caller).
  int threads() const { return threads_.load(std::memory_order_relaxed); }

  // Resizes the pool. Waits for a running parallel_for to finish first.
  void set_threads(int n) {
    if (n < 1) n = 1;
    std::lock_guard<std::mutex> busy(busy_);
    stop_workers();
    start_workers(n);
  }

  // Runs fn(chunk_begin, chunk_end) over [begin, end) split into chunks of at
  // least `grain` iterations. Ranges shorter than 2 * grain run inline.
  template <class F>
  void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& fn) {
    if (end <= begin) return;
    const int64_t total = end - begin;
    if (grain < 1) grain = 1;
    const int nthreads = threads();
    if (nthreads <= 1 || total < 2 * grain || in_worker()) {
      fn(begin, end);
      return;
    }
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another caller owns the workers
      fn(begin, end);
      return;
    }
    // About four chunks per thread for load balance, never below the grain.
    int64_t chunk = (total + 4 * nthreads - 1) / (4 * nthreads);
    chunk = std::max(chunk, grain);

    Job job;
    job.begin = begin;
    job.end = end;
    job.chunk = chunk;
    job.ctx = const_cast<void*>(static_cast<const void*>(&fn));
    job.call = [](void* ctx, int64_t b, int64_t e) {
      (*static_cast<std::remove_reference_t<F>*>(ctx))(b, e);
    };
    job.next.store(begin, std::memory_order_relaxed);

    {
      std::lock_guard<std::mutex> lk(m_);
      current_ = &job;
      ++generation_;
    }
    cv_.notify_all();
    run_chunks(job);
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return job.active == 0; });
    current_ = nullptr;
  }

 private:
  struct Job {
    int64_t begin = 0, end = 0, chunk = 1;
    void* ctx = nullptr;
    void (*call)(void*, int64_t, int64_t) = nullptr;
    std::atomic<int64_t> next{0};
    int active = 0;  // workers inside run_chunks(); guarded by m_
  };

  explicit ThreadPool(int n) { start_workers(n); }

  static bool& in_worker() {
    static thread_local bool flag = false;
    return flag;
  }

  static void run_chunks(Job& job) {
    for (;;) {
      int64_t b = job.next.fetch_add(job.chunk, std::memory_order_relaxed);
      if (b >= job.end) break;
      int64_t e = std::min(job.end, b + job.chunk);
      job.call(job.ctx, b, e);
    }
  }

  void worker_loop() {
    in_worker() = true;
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lk(m_);
      seen = generation_;
    }
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = current_;
        if (job == nullptr) continue;  // woke after that job was finished
        ++job->active;
      }
      run_chunks(*job);
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--job->active == 0) done_cv_.notify_all();
      }
    }
  }

  // Caller holds busy_ (or is the constructor).
  void start_workers(int n) {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = false;
    }
    workers_.reserve(static_cast<size_t>(n > 1 ? n - 1 : 0));
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
    threads_.store(n, std::memory_order_relaxed);
  }

  // Caller holds busy_, so no job is in flight.
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex busy_;  // owned by the one parallel_for using the workers
  std::mutex m_;     // guards generation_, current_, stop_, Job::active
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  Job* current_ = nullptr;
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
};

// Shorthand for ThreadPool::instance().parallel_for(...).
template <class F>
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& fn) {
  ThreadPool::instance().parallel_for(begin, end, grain, std::forward<F>(fn));
}

}  // namespace ncgpu
