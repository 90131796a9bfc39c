/*
 * pc_condvar.c - see pc_condvar.h.
 */
#include "pc_condvar.h"

#include "pc_handoff.h"
#include "pc_park.h"

void pc_condvar_init(pc_condvar_t *cv)
{
    /* relaxed: initialisation happens before the condvar is shared. */
    atomic_store_explicit(&cv->seq, 0, memory_order_relaxed);
    atomic_store_explicit(&cv->waiters, 0, memory_order_relaxed);
    atomic_store_explicit(&cv->async, NULL, memory_order_relaxed);
}

void pc_condvar_destroy(pc_condvar_t *cv)
{
    pc_async_list_free(&cv->async);
}

uint32_t pc_condvar_unlock_prepare(pc_condvar_t *cv, pc_mutex_t *m)
{
    /* relaxed, as Rust's: the counter is read while the mutex is still
     * held, so a notify made after the waiter's condition check (which
     * needs the mutex, or comes after it) increments it later in its
     * modification order, and the wait sees a different value. */
    uint32_t seq = atomic_load_explicit(&cv->seq, memory_order_relaxed);
    pc_mutex_unlock(m, false);
    return seq;
}

/* Has the counter moved?  acquire: a notified waiter sees what the
 * notifier wrote before notifying (it relocks the mutex anyway; this costs
 * nothing). */
static bool pc_condvar_moved(pc_condvar_t *cv, uint32_t seq)
{
    return atomic_load_explicit(&cv->seq, memory_order_acquire) != seq;
}

int pc_condvar_wait(pc_condvar_t *cv, uint32_t seq, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);

    /* Spin first (pc_handoff.h): a partner that notifies within the
     * window finds us awake, and pays no system call. */
    PC_HANDOFF_SPIN_UNTIL(pc_condvar_moved(cv, seq), deadline);
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        int r = PC_PARK_WOKEN;
        if (pc_condvar_moved(cv, seq))
            return PC_CONDVAR_NOTIFIED;
        if (left <= 0)
            return PC_CONDVAR_PENDING;
        /* seq_cst, both: the waiter's half of the Dekker pair (see the
         * header): being counted is ordered before reading the counter. */
        atomic_fetch_add_explicit(&cv->waiters, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&cv->seq, memory_order_seq_cst) == seq)
            r = pc_park_wait(&cv->seq, seq, left, false);
        /* relaxed: a notifier that still counts us only makes a needless
         * wake-up call. */
        atomic_fetch_sub_explicit(&cv->waiters, 1, memory_order_relaxed);
        if (r == PC_PARK_INTERRUPTED)
            return PC_CONDVAR_PENDING; /* let the interpreter see the signal */
    }
}

static bool pc_condvar_bump(pc_condvar_t *cv)
{
    /* seq_cst, both: the notifier's half of the Dekker pair; the increment
     * is also a release, so a waiter that reads the new value with acquire
     * sees the notifier's writes. */
    atomic_fetch_add_explicit(&cv->seq, 1, memory_order_seq_cst);
    return atomic_load_explicit(&cv->waiters, memory_order_seq_cst) != 0;
}

void pc_condvar_notify_one(pc_condvar_t *cv)
{
    if (pc_condvar_bump(cv))
        pc_park_wake_one(&cv->seq, false);
    /* One coroutine as well: a waiting thread and a waiting coroutine
     * may both wake (a spurious wake-up for one of them, which a Condvar
     * allows). */
    pc_async_slot_notify(&cv->async, 1);
}

void pc_condvar_notify_all(pc_condvar_t *cv)
{
    if (pc_condvar_bump(cv))
        pc_park_wake_all(&cv->seq, false);
    pc_async_slot_notify(&cv->async, PC_ASYNC_ALL);
}
