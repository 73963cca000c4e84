// simt_runtime.cpp — the SIMT host's execution model: the thread pool, block barriers and their
// scheduler, warp exchange, and kernel launch. See simt.h for the contract; the runtime API
// (memory, errors, events) is in simt_api.cpp.
#include "simt.h"
#include "simt_internal.h"

#include <sys/mman.h>
#include <unistd.h>
#include <ucontext.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

// The serialized schedules run a block's threads as fibers on the launching thread (one OS
// thread, a context switch per barrier) instead of 256 OS threads handing a baton through
// condition variables, which spent most of `make test` in the kernel. Sanitizer builds keep
// the threads: ASan and TSan do not follow makecontext/swapcontext stacks.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SIMT_FIBERS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SIMT_FIBERS 0
#endif
#endif
#ifndef SIMT_FIBERS
#define SIMT_FIBERS 1
#endif

namespace simt {

class Fibers;
static void fiber_yield(Fibers *f, int me);

// ---- one block's threads: barriers and the scheduler --------------------------------------

struct Barrier {
    int expected = 0; // threads in scope (the block, or one warp)
    int arrived = 0;
    int exited = 0;   // threads in scope that have returned from the kernel
    unsigned gen = 0;
    const char *file = nullptr;
    int line = 0;
};

enum RunState : char { RUNNABLE, BLOCKED, EXITED };

struct Block {
    std::mutex m;
    std::condition_variable released;  // concurrent schedule: barrier releases
    std::vector<std::unique_ptr<std::condition_variable>> *turn = nullptr; // serialized threads: one each
    Fibers *fibers = nullptr;          // serialized fibers: the scheduler to yield to
    int n = 0;
    Schedule sched = Schedule::Concurrent;
    bool in_turn = false; // threads run one after another on the launching thread: no barriers
    bool reached_barrier = false;
    bool aborted = false; // after a reported fault, barriers no longer wait
    int baton = -1;       // serialized: the one thread allowed to run
    std::vector<char> state;
    Barrier block_barrier;
    std::vector<Barrier> warp_barrier;
    std::vector<uint64_t> warp_slot; // 32 per warp
    void *dyn_shared = nullptr;
    dim3 idx, dim, grid;
    const char *kernel = "";

    bool serialized() const { return sched != Schedule::Concurrent; }

    int next_runnable() const
    {
        for (int k = 0; k < n; k++) {
            int t = sched == Schedule::Descending ? n - 1 - k : k;
            if (state[t] == RUNNABLE) return t;
        }
        return -1;
    }

    // Called with m held when a fault makes waiting meaningless: let everyone run to the end.
    void abort_all()
    {
        aborted = true;
        for (int t = 0; t < n; t++)
            if (state[t] == BLOCKED) state[t] = RUNNABLE;
        released.notify_all();
        if (turn)
            for (int t = 0; t < n; t++) (*turn)[t]->notify_all();
    }

    // Serialized schedule: pass the baton to the first runnable thread in order.
    void hand_baton()
    {
        baton = next_runnable();
        if (baton >= 0) {
            if (turn) (*turn)[baton]->notify_all();
            return;
        }
        for (int t = 0; t < n; t++)
            if (state[t] == BLOCKED) { // nobody can run, yet some wait: a barrier never fills
                report(cudaErrorLaunchFailure,
                       "kernel %s, block (%u,%u,%u): barrier at %s:%d can never be passed",
                       kernel, idx.x, idx.y, idx.z, block_barrier.file ? block_barrier.file : "?",
                       block_barrier.line);
                abort_all();
                return;
            }
    }

    void wait_turn(std::unique_lock<std::mutex> &lk, int me)
    {
        while (!aborted && !(baton == me && state[me] == RUNNABLE)) {
            if (!fibers) {
                (*turn)[me]->wait(lk);
                continue;
            }
            lk.unlock(); // the fiber that runs next takes it
            fiber_yield(fibers, me);
            lk.lock();
        }
    }

    void divergence(const Barrier &b, const char *what)
    {
        report(cudaErrorLaunchFailure,
               "kernel %s, block (%u,%u,%u): %s at %s:%d reached by %d of %d threads, %s",
               kernel, idx.x, idx.y, idx.z, &b == &block_barrier ? "__syncthreads()" : "warp barrier",
               b.file, b.line, b.arrived, b.expected, what);
        abort_all();
    }

    void arrive(Barrier &b, int me, const char *file, int line)
    {
        if (in_turn) { // a kernel learnt to be barrier-free reached one: say so, never wait
            if (!aborted)
                report(cudaErrorLaunchFailure,
                   "kernel %s, block (%u,%u,%u): barrier at %s:%d in a kernel whose earlier launch reached "
                   "none, so the SIMT host runs its threads one after another; a barrier must not depend "
                   "on the launch's arguments", kernel, idx.x, idx.y, idx.z, file, line);
            aborted = true;
            return;
        }
        std::unique_lock<std::mutex> lk(m);
        reached_barrier = true;
        if (aborted) return;
        if (b.arrived == 0) {
            b.file = file;
            b.line = line;
        } else if (b.line != line || std::strcmp(b.file, file) != 0) {
            report(cudaErrorLaunchFailure,
                   "kernel %s, block (%u,%u,%u): divergent barriers: threads wait at %s:%d and "
                   "at %s:%d", kernel, idx.x, idx.y, idx.z, b.file, b.line, file, line);
            abort_all();
            return;
        }
        b.arrived++;
        if (b.arrived + b.exited == b.expected) {
            if (b.exited > 0) return divergence(b, "the others returned from the kernel");
            waiting -= b.arrived - 1; // released now, even before they wake
            b.arrived = 0;
            b.gen++;
            if (!serialized()) {
                released.notify_all();
                return;
            }
            for (int t = 0; t < n; t++)
                if (state[t] == BLOCKED && waiting_on[t] == &b) state[t] = RUNNABLE;
            hand_baton(); // a new phase starts again from the first thread in order
            wait_turn(lk, me);
            return;
        }
        unsigned gen = b.gen;
        waiting++;
        if (!serialized()) {
            check_stall(b);
            released.wait(lk, [&] { return aborted || b.gen != gen; });
            return;
        }
        state[me] = BLOCKED;
        waiting_on[me] = &b;
        hand_baton();
        wait_turn(lk, me);
    }

    // Concurrent schedule: every thread waits or has exited, and no barrier completed. This is
    // how barriers of different kinds that wait on each other (a warp shuffle against a
    // __syncthreads) show up, instead of hanging.
    void check_stall(const Barrier &b)
    {
        if (!aborted && waiting > 0 && waiting + exited_total == n) {
            report(cudaErrorLaunchFailure,
                   "kernel %s, block (%u,%u,%u): every thread waits at a barrier (__syncthreads "
                   "or warp) and none can complete (last at %s:%d)", kernel, idx.x, idx.y, idx.z,
                   b.file, b.line);
            abort_all();
        }
    }

    void exit(int me)
    {
        std::unique_lock<std::mutex> lk(m);
        state[me] = EXITED;
        exited_total++;
        Barrier *scopes[2] = {&block_barrier, &warp_barrier[me / 32]};
        for (Barrier *b : scopes) {
            b->exited++;
            if (!aborted && b->arrived > 0 && b->arrived + b->exited == b->expected)
                divergence(*b, "the others returned from the kernel");
        }
        if (!serialized()) check_stall(block_barrier);
        if (serialized() && !aborted) hand_baton();
    }

    std::vector<Barrier *> waiting_on;
    int waiting = 0;      // threads blocked in any barrier
    int exited_total = 0;
};

static thread_local ThreadState current;
ThreadState &self() { return current; }

unsigned lane_id() { return current.linear % 32; }

// This OS thread now runs thread t of block b (its threadIdx, the block's indices).
static void become(Block &b, int t)
{
    unsigned bx = b.dim.x, by = b.dim.y;
    current.thread_idx = dim3(t % bx, (t / bx) % by, t / (bx * by));
    current.block_idx = b.idx;
    current.block_dim = b.dim;
    current.grid_dim = b.grid;
    current.linear = (unsigned)t;
    current.block = &b;
}

void syncthreads(const char *file, int line)
{
    Block &b = *current.block;
    b.arrive(b.block_barrier, (int)current.linear, file, line);
}

uint64_t warp_exchange(uint64_t mine, int src, const char *file, int line)
{
    Block &b = *current.block;
    int me = (int)current.linear, warp = me / 32;
    b.warp_slot[(size_t)me] = mine;
    b.arrive(b.warp_barrier[warp], me, file, line);
    int from = warp * 32 + src;
    uint64_t r = (src >= 0 && src < 32 && from < b.n) ? b.warp_slot[(size_t)from] : mine;
    b.arrive(b.warp_barrier[warp], me, file, line); // nobody overwrites a slot still being read
    return r;
}

unsigned warp_vote(bool bit, const char *file, int line)
{
    Block &b = *current.block;
    int me = (int)current.linear, warp = me / 32;
    b.warp_slot[(size_t)me] = bit;
    b.arrive(b.warp_barrier[warp], me, file, line);
    unsigned vote = 0;
    for (int l = 0; l < 32 && warp * 32 + l < b.n; l++)
        vote |= (unsigned)(b.warp_slot[(size_t)(warp * 32 + l)] != 0) << l;
    b.arrive(b.warp_barrier[warp], me, file, line);
    return vote;
}

void *dynamic_shared() { return current.block->dyn_shared; }

// ---- the thread pool ---------------------------------------------------------------------

class Pool {
  public:
    // Runs body once per thread of the block, on workers 0..n-1, and waits for all of them.
    void run_block(Block &b, const std::function<void()> &body)
    {
        grow(b.n);
        b.turn = &turn_;
        std::unique_lock<std::mutex> lk(m_);
        block_ = &b;
        body_ = &body;
        job_threads_ = b.n;
        done_ = 0;
        job_++;
        work_.notify_all();
        finished_.wait(lk, [&] { return done_ == job_threads_; });
    }

  private:
    void grow(int n)
    {
        std::lock_guard<std::mutex> g(m_);
        while ((int)workers_.size() < n) {
            int idx = (int)workers_.size();
            turn_.push_back(std::make_unique<std::condition_variable>());
            workers_.emplace_back([this, idx] { worker(idx); });
            workers_.back().detach(); // parked forever on work_; process exit ends them
        }
    }

    void worker(int idx)
    {
        unsigned seen = 0;
        std::unique_lock<std::mutex> lk(m_);
        for (;;) {
            work_.wait(lk, [&] { return job_ != seen; });
            seen = job_;
            if (idx >= job_threads_) continue;
            Block *b = block_;
            const std::function<void()> *body = body_;
            lk.unlock();
            run_thread(*b, idx, *body);
            lk.lock();
            if (++done_ == job_threads_) finished_.notify_one();
        }
    }

    static void run_thread(Block &b, int idx, const std::function<void()> &body)
    {
        become(b, idx);
        if (b.serialized()) {
            std::unique_lock<std::mutex> lk(b.m);
            b.wait_turn(lk, idx);
        }
        body();
        b.exit(idx);
        current.block = nullptr;
    }

    std::mutex m_;
    std::condition_variable work_, finished_;
    std::vector<std::thread> workers_;
    std::vector<std::unique_ptr<std::condition_variable>> turn_;
    unsigned job_ = 0;
    int job_threads_ = 0, done_ = 0;
    Block *block_ = nullptr;
    const std::function<void()> *body_ = nullptr;
};

static Pool &pool()
{
    static Pool *p = new Pool; // never destroyed: workers are detached and parked
    return *p;
}

// ---- fibers: the serialized schedules on the launching thread ------------------------------

class Fibers {
  public:
    // Runs body once per thread of the block (serialized: b.baton says who runs) and returns
    // when all have returned.
    void run_block(Block &b, const std::function<void()> &body)
    {
        grow(b.n);
        b.fibers = this;
        block_ = &b;
        body_ = &body;
        for (int t = 0; t < b.n; t++) {
            getcontext(&ctx_[t]);
            ctx_[t].uc_stack.ss_sp = stacks_[t];
            ctx_[t].uc_stack.ss_size = kStack;
            ctx_[t].uc_link = &scheduler_;
            makecontext(&ctx_[t], (void (*)())entry, 1, t);
        }
        ThreadState saved = current;
        running = this;
        for (;;) {
            int t = -1;
            {
                std::lock_guard<std::mutex> g(b.m);
                if (b.aborted) { // a fault: everyone runs to the end, in order
                    for (int k = 0; k < b.n && t < 0; k++)
                        if (b.state[k] != EXITED) t = k;
                } else if (b.baton >= 0 && b.state[b.baton] != EXITED) {
                    t = b.baton;
                }
            }
            if (t < 0) break;
            become(b, t);
            swapcontext(&scheduler_, &ctx_[t]);
        }
        running = nullptr;
        current = saved;
    }

    void yield(int me) { swapcontext(&ctx_[me], &scheduler_); }

  private:
    static constexpr size_t kStack = 256 << 10; // a kernel thread's stack; a guard page below it

    static void entry(int t)
    {
        Fibers *f = running;
        (*f->body_)();
        f->block_->exit(t);
    } // returns to scheduler_ (uc_link)

    void grow(int n)
    {
        long page = sysconf(_SC_PAGESIZE);
        while ((int)stacks_.size() < n) {
            char *m = (char *)mmap(nullptr, kStack + page, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) {
                fprintf(stderr, "simt: cannot map a fiber stack\n");
                abort();
            }
            mprotect(m, page, PROT_NONE); // an overflow faults instead of writing the next stack
            stacks_.push_back(m + page);
        }
        ctx_.resize(stacks_.size());
    }

    static thread_local Fibers *running;
    ucontext_t scheduler_;
    std::vector<ucontext_t> ctx_;
    std::vector<char *> stacks_;
    Block *block_ = nullptr;
    const std::function<void()> *body_ = nullptr;
};
thread_local Fibers *Fibers::running = nullptr;

static void fiber_yield(Fibers *f, int me) { f->yield(me); }

static Fibers &fibers()
{
    static thread_local Fibers f; // launches run on the thread that issues them (or replays)
    return f;
}

// Fiber builds start in the ascending schedule (deterministic and fast); the kernel checks run
// every schedule, the concurrent one on OS threads included.
Schedule default_schedule() { return SIMT_FIBERS ? Schedule::Ascending : Schedule::Concurrent; }
static Schedule current_schedule = default_schedule();
void set_schedule(Schedule s) { current_schedule = s; }
Schedule schedule() { return current_schedule; }

// ---- launch -----------------------------------------------------------------------------------

static std::mutex launch_mutex;

// Kernels whose launch under the concurrent or ascending schedule reached no barrier in any block
// (guarded by launch_mutex): their later blocks run in turn (Block::in_turn).
static std::unordered_map<const void *, bool> barrier_free;

// One block's threads in order on this thread, each to its end.
static void run_in_turn(Block &b, const std::function<void()> &body)
{
    ThreadState saved = current;
    for (int t = 0; t < b.n; t++) {
        become(b, t);
        body();
    }
    current = saved;
}

// Runs every block of one launch (now, or when a captured graph is replayed).
static void run_launch(dim3 grid, dim3 block, size_t dynamic_shared, const char *kernel, const void *kernel_id,
                       const std::function<void()> &body)
{
    std::lock_guard<std::mutex> g(launch_mutex);
    unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (threads > 1024) { // what CUDA 13.0 answers on an H100 (docs/gpu-results.md)
        report(cudaErrorInvalidValue, "kernel %s: %lu threads per block (at most 1024)", kernel,
               threads);
        return;
    }
    if (threads == 0 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.y > 65535 || grid.z > 65535) {
        report(cudaErrorInvalidConfiguration,
               "kernel %s: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u)", kernel,
               grid.x, grid.y, grid.z, block.x, block.y, block.z);
        return;
    }
    if (dynamic_shared > 48 * 1024) {
        report(cudaErrorInvalidValue, "kernel %s: %zu bytes of dynamic shared memory (max 48 KiB)",
               kernel, dynamic_shared);
        return;
    }
    // Uninitialised shared memory reads as NaN / -1, never as a convenient zero.
    std::vector<unsigned char> shared(dynamic_shared ? dynamic_shared : 1, 0xFF);
    // both run a barrier-free block's threads to their ends one after another in the end
    bool learns = current_schedule == Schedule::Concurrent || current_schedule == Schedule::Ascending;
    auto known = barrier_free.find(kernel_id);
    bool in_turn = learns && known != barrier_free.end() && known->second;
    bool reached_barrier = false;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                Block b;
                b.n = (int)threads;
                b.sched = current_schedule;
                b.state.assign(threads, RUNNABLE);
                b.waiting_on.assign(threads, nullptr);
                b.block_barrier.expected = (int)threads;
                b.warp_barrier.resize((threads + 31) / 32);
                for (size_t w = 0; w < b.warp_barrier.size(); w++)
                    b.warp_barrier[w].expected = (int)std::min<size_t>(32, threads - 32 * w);
                b.warp_slot.assign(b.warp_barrier.size() * 32, 0);
                b.dyn_shared = shared.data();
                b.idx = dim3(x, y, z);
                b.dim = block;
                b.grid = grid;
                b.kernel = kernel;
                b.in_turn = in_turn;
                if (b.serialized()) b.baton = b.next_runnable();
                if (in_turn)
                    run_in_turn(b, body);
                else if (SIMT_FIBERS && b.serialized())
                    fibers().run_block(b, body);
                else
                    pool().run_block(b, body);
                reached_barrier |= b.reached_barrier;
            }
    if (learns && known == barrier_free.end()) barrier_free[kernel_id] = !reached_barrier;
    check_all_guards(kernel);
}

// A launch issued by the host: counted and run, or recorded into the capture in progress.
void launch(dim3 grid, dim3 block, size_t dynamic_shared, const char *kernel, const void *kernel_id,
            const std::function<void()> &body)
{
    if (!capturing()) count_launch();
    device_work([=] { run_launch(grid, block, dynamic_shared, kernel, kernel_id, body); });
}

} // namespace simt
