/*
 * pc_cbench.c - the C-level benchmark loops of pc_cbench.h.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "pc_cbench.h"

#include <stdlib.h>

#include "pc_atomic.h"
#include "pc_spin.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef SRWLOCK pc_os_mutex_t;
#define pc_os_mutex_init(m) InitializeSRWLock(m)
#define pc_os_mutex_lock(m) AcquireSRWLockExclusive(m)
#define pc_os_mutex_unlock(m) ReleaseSRWLockExclusive(m)
#define pc_os_mutex_destroy(m) ((void)(m))
typedef HANDLE pc_thread_t;
#else
#include <pthread.h>
typedef pthread_mutex_t pc_os_mutex_t;
#define pc_os_mutex_init(m) pthread_mutex_init(m, NULL)
#define pc_os_mutex_lock(m) pthread_mutex_lock(m)
#define pc_os_mutex_unlock(m) pthread_mutex_unlock(m)
#define pc_os_mutex_destroy(m) pthread_mutex_destroy(m)
typedef pthread_t pc_thread_t;
#endif

struct pc_cbench_shared {
    /* Each on its own line: the contended counter must not share a line
     * with the lock or the start flag, or we would measure false sharing. */
    PC_ALIGNED(PC_CACHELINE) pc_spin_t spin;
    PC_ALIGNED(PC_CACHELINE) pc_os_mutex_t os_mutex;
    PC_ALIGNED(PC_CACHELINE) int64_t plain_counter; /* guarded by a lock */
    PC_ALIGNED(PC_CACHELINE) pc_atomic_i64_t atomic_counter;
    PC_ALIGNED(PC_CACHELINE) _Atomic int ready;
    _Atomic int go;
    int kind;
    int64_t iterations;
};

static void pc_cbench_work(struct pc_cbench_shared *s)
{
    /* relaxed increment, acquire spin on `go`: the start line needs no
     * data, only that everyone leaves it together. */
    atomic_fetch_add_explicit(&s->ready, 1, memory_order_relaxed);
    while (!atomic_load_explicit(&s->go, memory_order_acquire))
        pc_cpu_relax();
    switch (s->kind) {
    case PC_CBENCH_SPIN:
        for (int64_t i = 0; i < s->iterations; i++) {
            pc_spin_lock(&s->spin, false);
            s->plain_counter++;
            pc_spin_unlock(&s->spin, false);
        }
        break;
    case PC_CBENCH_OS_MUTEX:
        for (int64_t i = 0; i < s->iterations; i++) {
            pc_os_mutex_lock(&s->os_mutex);
            s->plain_counter++;
            pc_os_mutex_unlock(&s->os_mutex);
        }
        break;
    default:
        for (int64_t i = 0; i < s->iterations; i++)
            pc_atomic_i64_fetch_add(&s->atomic_counter, 1, PC_SEQ_CST);
        break;
    }
}

#ifdef _WIN32
static DWORD WINAPI pc_cbench_thread(LPVOID arg)
{
    pc_cbench_work((struct pc_cbench_shared *)arg);
    return 0;
}
static int pc_thread_start(pc_thread_t *t, struct pc_cbench_shared *s)
{
    *t = CreateThread(NULL, 0, pc_cbench_thread, s, 0, NULL);
    return *t ? 0 : -1;
}
static void pc_thread_join(pc_thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
static void *pc_cbench_thread(void *arg)
{
    pc_cbench_work((struct pc_cbench_shared *)arg);
    return NULL;
}
static int pc_thread_start(pc_thread_t *t, struct pc_cbench_shared *s)
{
    return pthread_create(t, NULL, pc_cbench_thread, s) == 0 ? 0 : -1;
}
static void pc_thread_join(pc_thread_t t)
{
    pthread_join(t, NULL);
}
#endif

int64_t pc_cbench_run(int kind, int threads, int64_t iterations)
{
    struct pc_cbench_shared *s;
    pc_thread_t *tids;
    int started = 0;
    int64_t t0, elapsed, total;
    bool counted_ok;

    if (kind < PC_CBENCH_SPIN || kind > PC_CBENCH_FETCH_ADD || threads < 1 ||
        threads > 256 || iterations < 1)
        return -1;
    /* The struct is over-aligned: allocate with room to align by hand
     * (aligned_alloc is missing from MSVC's C library). */
    void *raw = calloc(1, sizeof *s + PC_CACHELINE);
    tids = (pc_thread_t *)calloc((size_t)threads, sizeof *tids);
    if (!raw || !tids) {
        free(raw);
        free(tids);
        return -1;
    }
    s = (struct pc_cbench_shared *)(((uintptr_t)raw + PC_CACHELINE - 1) &
                                    ~(uintptr_t)(PC_CACHELINE - 1));
    pc_spin_init(&s->spin);
    pc_os_mutex_init(&s->os_mutex);
    s->kind = kind;
    s->iterations = iterations;

    for (; started < threads; started++)
        if (pc_thread_start(&tids[started], s) != 0)
            break;
    /* relaxed: we only count arrivals; `go` below is the release. */
    while (atomic_load_explicit(&s->ready, memory_order_relaxed) < started)
        pc_thread_yield();
    t0 = pc_now_ns();
    atomic_store_explicit(&s->go, 1, memory_order_release);
    for (int i = 0; i < started; i++)
        pc_thread_join(tids[i]);
    elapsed = pc_now_ns() - t0;

    /* Joining synchronises with each thread's end, so plain reads are
     * fine; relaxed for the atomic for the same reason. */
    total = (int64_t)started * iterations;
    counted_ok = kind == PC_CBENCH_FETCH_ADD
                     ? pc_atomic_i64_load(&s->atomic_counter, PC_RELAXED) == total
                     : s->plain_counter == total;
    pc_os_mutex_destroy(&s->os_mutex);
    free(raw);
    free(tids);
    if (started != threads || !counted_ok)
        return -1;
    return elapsed > 0 ? elapsed : 1;
}
