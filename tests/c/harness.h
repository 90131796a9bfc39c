/*
 * harness.h - the shared harness of the C validation programs.
 *
 * In the manner of Concurrency Kit's per-primitive validate programs: each program
 * starts many threads on one primitive, runs many iterations, and checks
 * exact totals, no loss, no duplication and per-producer order, failing
 * loudly with what raced.  One harness, adapted per primitive by the
 * program's own body function.
 *
 * Environment: PC_VALIDATE_SCALE multiplies the iteration counts (default 1);
 * PC_VALIDATE_HANDOFF=1 switches hand-off on (pc_handoff.h: spin windows
 * before every park, as with a GIL), so that the same programs check the
 * waits with and without it.
 */
#ifndef PC_HARNESS_H
#define PC_HARNESS_H

#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _WIN32
#include <winsock2.h> /* before windows.h, as winsock2.h asks */
#include <windows.h>
#endif

#include "pyconc.h"

#define PC_FAIL(...)                                                           \
    do {                                                                       \
        fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);                \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(1);                                                               \
    } while (0)

#define PC_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond))                                                           \
            PC_FAIL(__VA_ARGS__);                                              \
    } while (0)

/* A hang is a failure: after `seconds`, print `msg` (say what hung and
 * the likely cause) and exit 1.  Once per program, before the threads. */
static const char *pc_watchdog_msg;
static size_t pc_watchdog_len;

#ifdef _WIN32
/* No SIGALRM on Windows: a thread of its own sleeps, then ends the process
 * (make cwine runs these programs under Wine). */
static DWORD WINAPI pc_watchdog_thread(LPVOID arg)
{
    Sleep((DWORD)(uintptr_t)arg * 1000u);
    (void)!write(2, pc_watchdog_msg, (unsigned)pc_watchdog_len);
    _exit(1);
}

static inline void pc_watchdog(const char *msg, unsigned seconds)
{
    pc_watchdog_msg = msg;
    pc_watchdog_len = strlen(msg);
    HANDLE h = CreateThread(NULL, 0, pc_watchdog_thread, (LPVOID)(uintptr_t)seconds, 0, NULL);
    PC_CHECK(h != NULL, "watchdog: CreateThread failed");
    CloseHandle(h);
}
#else
static void pc_watchdog_fire(int sig)
{
    (void)sig;
    (void)!write(2, pc_watchdog_msg, pc_watchdog_len); /* async-signal-safe */
    _exit(1);
}

static inline void pc_watchdog(const char *msg, unsigned seconds)
{
    pc_watchdog_msg = msg;
    pc_watchdog_len = strlen(msg);
    signal(SIGALRM, pc_watchdog_fire);
    alarm(seconds);
}
#endif

static inline long pc_scaled(long n)
{
    const char *s = getenv("PC_VALIDATE_SCALE");
    long k = s ? atol(s) : 1;
    return n * (k > 0 ? k : 1);
}

typedef void (*pc_body_fn)(int thread, void *arg);

struct pc_harness_start {
    pc_body_fn body;
    void *arg;
    int index;
    _Atomic int *ready;
    _Atomic int *go;
};

static void *pc_harness_thread(void *p)
{
    struct pc_harness_start *s = (struct pc_harness_start *)p;
    /* relaxed: a head count only; `go` (acquire) is the start line. */
    atomic_fetch_add_explicit(s->ready, 1, memory_order_relaxed);
    while (!atomic_load_explicit(s->go, memory_order_acquire))
        pc_cpu_relax();
    s->body(s->index, s->arg);
    return NULL;
}

/* Run body(i, arg) in n threads released together; returns elapsed ns. */
static inline int64_t pc_run_threads(int n, pc_body_fn body, void *arg)
{
    pthread_t tids[256];
    struct pc_harness_start starts[256];
    _Atomic int ready = 0, go = 0;
    int64_t t0;
    PC_CHECK(n > 0 && n <= 256, "bad thread count %d", n);
    if (getenv("PC_VALIDATE_HANDOFF") != NULL)
        pc_handoff_enable(true);
    for (int i = 0; i < n; i++) {
        starts[i] = (struct pc_harness_start){body, arg, i, &ready, &go};
        PC_CHECK(pthread_create(&tids[i], NULL, pc_harness_thread, &starts[i]) == 0,
                 "pthread_create failed");
    }
    while (atomic_load_explicit(&ready, memory_order_relaxed) < n)
        pc_thread_yield();
    t0 = pc_now_ns();
    atomic_store_explicit(&go, 1, memory_order_release); /* start everyone */
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
    return pc_now_ns() - t0;
}

/*
 * Mutual exclusion: the check of every lock's program, written once and
 * adapted per lock with two macros, as Concurrency Kit's
 * validate/ck_spinlock adapts one body to each lock.  A plain counter and
 * an occupancy flag only the holder touches: a second thread inside sees
 * the flag set, a lost increment shows in the total.
 */
typedef struct pc_exclusion {
    long counter;  /* plain: protected by the lock under test */
    int occupancy; /* plain: 0 outside, 1 inside */
} pc_exclusion_t;

static inline void pc_exclusion_inside(pc_exclusion_t *e)
{
    PC_CHECK(e->occupancy == 0, "two threads inside the critical section");
    e->occupancy = 1;
    e->counter++;
    e->occupancy = 0;
}

/* Define the thread body `static void name(int t, void *arg)`: `rounds`
 * times LOCK (an expression or statement that may use the thread t and
 * the round i), the check on `excl`, UNLOCK. */
#define PC_EXCLUSION_BODY(name, excl, rounds, LOCK, UNLOCK)                    \
    static void name(int t, void *arg)                                          \
    {                                                                           \
        (void)t;                                                                \
        (void)arg;                                                              \
        for (long i = 0; i < (long)(rounds); i++) {                             \
            LOCK;                                                               \
            pc_exclusion_inside(&(excl));                                       \
            UNLOCK;                                                             \
        }                                                                       \
    }

/* After the threads: every increment made, none lost. */
#define PC_EXCLUSION_CHECK(excl, expected)                                     \
    PC_CHECK((excl).counter == (long)(expected),                               \
             "counter %ld, want %ld (lost updates: two holders at once)",       \
             (excl).counter, (long)(expected))

#endif /* PC_HARNESS_H */
