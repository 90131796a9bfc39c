/*
 * pc_condvar.c - see pc_condvar.h.
 */
#include "pc_condvar.h"

#include "pc_park.h"

void pc_condvar_init(pc_condvar_t *cv)
{
    /* relaxed: initialisation happens before the condvar is shared. */
    atomic_store_explicit(&cv->seq, 0, memory_order_relaxed);
    atomic_store_explicit(&cv->waiters, 0, memory_order_relaxed);
}

uint32_t pc_condvar_unlock_prepare(pc_condvar_t *cv, pc_mutex_t *m)
{
    uint32_t seq;
    /* seq_cst, both: the waiter's half of the Dekker pair (see the
     * header): registering must be ordered before reading the counter. */
    atomic_fetch_add_explicit(&cv->waiters, 1, memory_order_seq_cst);
    seq = atomic_load_explicit(&cv->seq, memory_order_seq_cst);
    /* The counter is read while the mutex is still held, so any notify
     * made after the waiter's condition check (which needs the mutex, or
     * comes after it) changes it. */
    pc_mutex_unlock(m, false);
    return seq;
}

int pc_condvar_wait(pc_condvar_t *cv, uint32_t seq, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    int r;
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        /* acquire: a notified waiter sees what the notifier wrote before
         * notifying (it relocks the mutex anyway; this costs nothing). */
        if (atomic_load_explicit(&cv->seq, memory_order_acquire) != seq)
            break;
        if (left <= 0)
            return PC_CONDVAR_PENDING;
        r = pc_park_wait(&cv->seq, seq, left, false);
        if (r == PC_PARK_INTERRUPTED)
            return PC_CONDVAR_PENDING; /* let the interpreter see the signal */
    }
    /* relaxed: unregistering orders nothing; a notifier that still sees
     * us only makes a needless wake-up call. */
    atomic_fetch_sub_explicit(&cv->waiters, 1, memory_order_relaxed);
    return PC_CONDVAR_NOTIFIED;
}

void pc_condvar_cancel(pc_condvar_t *cv)
{
    /* relaxed: as in pc_condvar_wait. */
    atomic_fetch_sub_explicit(&cv->waiters, 1, memory_order_relaxed);
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
}

void pc_condvar_notify_all(pc_condvar_t *cv)
{
    if (pc_condvar_bump(cv))
        pc_park_wake_all(&cv->seq, false);
}
