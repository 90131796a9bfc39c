/*
 * pc_qbench.c - the queue benchmark of pc_qbench.h.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "pc_qbench.h"

#include <stdlib.h>

#include "pc_backoff.h"
#include "pc_mpsc.h"
#include "pc_ring.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef HANDLE pc_qb_thread_t;
#else
#include <pthread.h>
typedef pthread_t pc_qb_thread_t;
#endif

#define PC_QBENCH_RING_SLOTS 1024
#define PC_QBENCH_MAX_PRODUCERS 64

struct pc_qbench {
    pc_mpsc_t q;
    pc_ring_t ring;
    PC_ALIGNED(PC_CACHELINE) _Atomic int ready;
    _Atomic int go;
    _Atomic int next_id;
    int kind;
    int producers;
    int64_t per_producer;
    _Atomic int failed;
};

/* A value: the producer's number above PC_QB_SHIFT bits of sequence
 * (from 1), in a pointer: 40 bits of sequence on 64-bit targets, 24 on
 * 32-bit ones. */
#if UINTPTR_MAX > 0xFFFFFFFFu
#define PC_QB_SHIFT 40
#else
#define PC_QB_SHIFT 24
#endif
#define PC_QB_VALUE(p, i) \
    ((void *)(uintptr_t)(((uint64_t)(p) << PC_QB_SHIFT) | (uint64_t)((i) + 1)))

static void pc_qbench_start_line(struct pc_qbench *s)
{
    /* relaxed count, acquire spin: the start line carries no data. */
    atomic_fetch_add_explicit(&s->ready, 1, memory_order_relaxed);
    while (!atomic_load_explicit(&s->go, memory_order_acquire))
        pc_cpu_relax();
}

static void pc_qbench_produce(struct pc_qbench *s)
{
    /* relaxed: only a distinct number is needed. */
    int id = atomic_fetch_add_explicit(&s->next_id, 1, memory_order_relaxed);
    pc_qbench_start_line(s);
    for (int64_t i = 0; i < s->per_producer; i++) {
        void *v = PC_QB_VALUE(id, i);
        if (s->kind == PC_QBENCH_MPSC) {
            pc_mpsc_node_t *n = pc_mpsc_node_new(v);
            if (n == NULL) {
                atomic_store_explicit(&s->failed, 1, memory_order_relaxed);
                return;
            }
            pc_mpsc_push(&s->q, n);
        } else {
            pc_backoff_t b;
            pc_backoff_init(&b);
            while (pc_ring_trypush(&s->ring, v, NULL) != PC_RING_OK)
                pc_backoff_snooze(&b);
        }
    }
}

#ifdef _WIN32
static DWORD WINAPI pc_qbench_thread(LPVOID arg)
{
    pc_qbench_produce((struct pc_qbench *)arg);
    return 0;
}
static int pc_qb_start(pc_qb_thread_t *t, struct pc_qbench *s)
{
    *t = CreateThread(NULL, 0, pc_qbench_thread, s, 0, NULL);
    return *t ? 0 : -1;
}
static void pc_qb_join(pc_qb_thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
static void *pc_qbench_thread(void *arg)
{
    pc_qbench_produce((struct pc_qbench *)arg);
    return NULL;
}
static int pc_qb_start(pc_qb_thread_t *t, struct pc_qbench *s)
{
    return pthread_create(t, NULL, pc_qbench_thread, s) == 0 ? 0 : -1;
}
static void pc_qb_join(pc_qb_thread_t t)
{
    pthread_join(t, NULL);
}
#endif

int64_t pc_qbench_run(int kind, int producers, int64_t per_producer)
{
    struct pc_qbench *s;
    pc_qb_thread_t tids[PC_QBENCH_MAX_PRODUCERS];
    uint64_t last[PC_QBENCH_MAX_PRODUCERS] = {0};
    int started = 0;
    bool ok = true;
    int64_t t0, elapsed = -1, total, got = 0;
    void *raw;

    if ((kind != PC_QBENCH_MPSC && kind != PC_QBENCH_RING) || producers < 1 ||
        producers > PC_QBENCH_MAX_PRODUCERS || per_producer < 1 ||
        per_producer >= ((int64_t)1 << PC_QB_SHIFT) - 1)
        return -1;
    raw = calloc(1, sizeof *s + PC_CACHELINE);
    if (raw == NULL)
        return -1;
    s = (struct pc_qbench *)(((uintptr_t)raw + PC_CACHELINE - 1) &
                             ~(uintptr_t)(PC_CACHELINE - 1));
    s->kind = kind;
    s->producers = producers;
    s->per_producer = per_producer;
    if (kind == PC_QBENCH_MPSC ? !pc_mpsc_init(&s->q)
                               : !pc_ring_init(&s->ring, PC_QBENCH_RING_SLOTS, false)) {
        free(raw);
        return -1;
    }
    for (; started < producers; started++)
        if (pc_qb_start(&tids[started], s) != 0)
            break;
    /* relaxed: counting arrivals; `go` is the release. */
    while (atomic_load_explicit(&s->ready, memory_order_relaxed) < started)
        pc_thread_yield();
    total = (int64_t)started * per_producer;
    t0 = pc_now_ns();
    atomic_store_explicit(&s->go, 1, memory_order_release);

    /* The consumer: this thread. */
    {
        pc_backoff_t b;
        pc_backoff_init(&b);
        while (got < total) {
            void *v;
            int r = kind == PC_QBENCH_MPSC ? pc_mpsc_trypop(&s->q, &v)
                                           : pc_ring_trypop(&s->ring, &v);
            if (r == 0) { /* PC_MPSC_OK == PC_RING_OK == 0 */
                uint64_t x = (uint64_t)(uintptr_t)v;
                unsigned p = (unsigned)(x >> PC_QB_SHIFT);
                uint64_t seq = x & (((uint64_t)1 << PC_QB_SHIFT) - 1);
                if (p >= (unsigned)started || seq != last[p] + 1)
                    ok = false; /* lost, duplicated or reordered */
                else
                    last[p] = seq;
                got++;
                pc_backoff_init(&b);
            } else {
                if (atomic_load_explicit(&s->failed, memory_order_relaxed))
                    break;
                pc_backoff_snooze(&b);
            }
        }
        elapsed = pc_now_ns() - t0;
    }
    for (int i = 0; i < started; i++)
        pc_qb_join(tids[i]);
    if (kind == PC_QBENCH_MPSC)
        pc_mpsc_destroy(&s->q, NULL);
    else
        pc_ring_destroy(&s->ring, NULL);
    if (started != producers || got != total ||
        atomic_load_explicit(&s->failed, memory_order_relaxed))
        ok = false;
    free(raw);
    if (!ok)
        return -1;
    return elapsed > 0 ? elapsed : 1;
}
