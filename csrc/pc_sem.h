/*
 * pc_sem.h - a counting semaphore that can be closed (tokio's Semaphore,
 * without its FIFO queue).
 *
 * `permits` holds the number of permits available and, in its top bit,
 * CLOSED.  Taking n permits is a CAS that subtracts n if at least n are
 * there; giving them back is a CAS that adds n (refused past
 * PC_SEM_MAX_PERMITS, tokio's limit).  Waiters sleep on `epoch`, which a
 * release or a close bumps only when `waiters` says somebody may be
 * asleep: the waiter counts itself (seq_cst) before it re-checks the
 * permits, the releaser adds its permits (seq_cst) before it reads the
 * count, so one of them sees the other (the Dekker pattern) and no wake-up
 * is lost; a release with nobody waiting is one CAS.
 *
 * Not fair: a woken waiter competes with threads arriving meanwhile, and
 * an acquire of many permits may wait while smaller ones pass (as
 * threading.Semaphore; tokio queues its waiters in order).
 */
#ifndef PC_SEM_H
#define PC_SEM_H

#include "pc_config.h"
#include "pc_async.h"

#define PC_SEM_CLOSED ((uint64_t)1 << 63)
#define PC_SEM_MAX_PERMITS (((uint64_t)1 << 61) - 1)

/* Results. */
enum { PC_SEM_OK = 0, PC_SEM_AGAIN = 1, PC_SEM_CLOSED_ = 2, PC_SEM_OVERFLOW = 3 };

typedef struct pc_sem {
    _Atomic uint64_t permits; /* available | PC_SEM_CLOSED */
    _Atomic uint32_t epoch;   /* the futex word waiters sleep on */
    _Atomic uint32_t waiters; /* threads inside pc_sem_acquire_timed's wait */
    pc_async_slot_t async;    /* coroutines waiting (acquire_async); NULL until the first */
} pc_sem_t;

void pc_sem_init(pc_sem_t *s, uint64_t permits);

/* Free what a coroutine's wait made (nobody may use the semaphore again). */
void pc_sem_destroy(pc_sem_t *s);

/* A coroutine about to sleep (acquire_async): called after it registered
 * in the list of `async` and before its re-try; completes the Dekker pair
 * with the releasers' check (pc_sem_wake: a seq_cst load of the list's
 * count). */
PC_INLINE void pc_sem_async_armed(pc_sem_t *s)
{
    (void)s;
    /* seq_cst: the registration (a seq_cst increment of the list's count)
     * is ordered before the re-try's relaxed load of the permits. */
    PC_FENCE_SEQ_CST();
}

/* Take n permits if there are n (n >= 1): PC_SEM_OK, PC_SEM_AGAIN or
 * PC_SEM_CLOSED_.  Never waits. */
PC_INLINE int pc_sem_try_acquire(pc_sem_t *s, uint64_t n)
{
    /* relaxed: the CAS below acquires. */
    uint64_t p = atomic_load_explicit(&s->permits, memory_order_relaxed);
    for (;;) {
        if (PC_UNLIKELY(p & PC_SEM_CLOSED))
            return PC_SEM_CLOSED_;
        if (p < n)
            return PC_SEM_AGAIN;
        /* acquire: what the releaser did before its release happens before
         * our use of the permits (a semaphore used as a lock). */
        if (atomic_compare_exchange_weak_explicit(&s->permits, &p, p - n,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return PC_SEM_OK;
    }
}

/* Wait at most timeout_ns for n permits and take them (call without the
 * GIL): PC_SEM_OK, PC_SEM_AGAIN (the slice ended, or a signal) or
 * PC_SEM_CLOSED_. */
int pc_sem_acquire_timed(pc_sem_t *s, uint64_t n, int64_t timeout_ns);

/* Give n permits back (or add new ones): PC_SEM_OK, or PC_SEM_OVERFLOW
 * (nothing added) if the count would pass PC_SEM_MAX_PERMITS.  Works on a
 * closed semaphore too.  May make one wake-up system call. */
int pc_sem_release(pc_sem_t *s, uint64_t n);

/* Close: every acquire, waiting or to come, fails with PC_SEM_CLOSED_;
 * permits held stay valid and may be given back.  Idempotent. */
void pc_sem_close(pc_sem_t *s);

/* Snapshots. */
PC_INLINE uint64_t pc_sem_available(pc_sem_t *s)
{
    /* relaxed: a snapshot. */
    return atomic_load_explicit(&s->permits, memory_order_relaxed) & ~PC_SEM_CLOSED;
}

PC_INLINE bool pc_sem_is_closed(pc_sem_t *s)
{
    /* relaxed: a snapshot. */
    return (atomic_load_explicit(&s->permits, memory_order_relaxed) & PC_SEM_CLOSED) != 0;
}

#endif /* PC_SEM_H */
