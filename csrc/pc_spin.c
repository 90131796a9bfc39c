/*
 * pc_spin.c - the spin lock of pc_spin.h.
 */
#include "pc_spin.h"

#include "pc_backoff.h"
#include "pc_park.h"

bool pc_spin_lock_timed(pc_spin_t *l, int64_t timeout_ns, bool shared)
{
    pc_backoff_t backoff;
    int64_t deadline = timeout_ns >= 0 ? pc_now_ns() + timeout_ns : INT64_MAX;

    /* Phase 1: spin and yield with test-and-test-and-set. */
    pc_backoff_init(&backoff);
    while (!pc_backoff_is_completed(&backoff)) {
        /* relaxed: just watching; the CAS below does the acquiring. */
        uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (s == PC_SPIN_UNLOCKED) {
            /* weak: a spurious failure only costs another round.
             * acquire on success, as in pc_spin_trylock. */
            if (atomic_compare_exchange_weak_explicit(
                    &l->state, &s, PC_SPIN_LOCKED, memory_order_acquire,
                    memory_order_relaxed))
                return true;
            pc_backoff_spin(&backoff); /* lost a race: the line is hot */
        } else {
            pc_backoff_snooze(&backoff); /* held: wait for the holder */
        }
        if (timeout_ns >= 0 && pc_now_ns() >= deadline)
            return false;
    }

    /* Phase 3: park.  Mark the lock contended with an exchange; if it was
     * free we now hold it (in state 2, which costs the next unlock one
     * needless wake, the price of not losing a waiter).  acquire: taking
     * the lock this way must see the last holder's writes. */
    for (;;) {
        int64_t left;
        if (atomic_exchange_explicit(&l->state, PC_SPIN_CONTENDED,
                                     memory_order_acquire) == PC_SPIN_UNLOCKED)
            return true;
        left = deadline == INT64_MAX ? -1 : deadline - pc_now_ns();
        if (deadline != INT64_MAX && left <= 0)
            return false;
        /* A signal: give up now, without the lock, so that the caller
         * returns to the interpreter and its handler runs (Ctrl-C). */
        if (pc_park_wait(&l->state, PC_SPIN_CONTENDED, left, shared) ==
            PC_PARK_INTERRUPTED)
            return false;
    }
}

void pc_spin_wake(pc_spin_t *l, bool shared)
{
    pc_park_wake_one(&l->state, shared);
}
