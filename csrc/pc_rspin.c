/*
 * pc_rspin.c - the robust spin lock of pc_rspin.h.
 */
#include "pc_rspin.h"

#include "pc_backoff.h"
#include "pc_park.h"

int pc_rspin_lock_timed(pc_rspin_t *l, uint32_t pid, int64_t timeout_ns)
{
    pc_backoff_t backoff;
    int64_t now, next_check, deadline;
    uint32_t me = pid & PC_IPC_PID_MASK;

    now = pc_now_ns();
    deadline = timeout_ns >= 0 ? now + timeout_ns : INT64_MAX;

    /* Phase 1: spin and yield with test-and-test-and-set, as pc_spin. */
    pc_backoff_init(&backoff);
    while (!pc_backoff_is_completed(&backoff)) {
        /* relaxed: just watching; the CAS below does the acquiring. */
        uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (s == 0) {
            /* acquire on success: see the last holder's writes. */
            if (atomic_compare_exchange_weak_explicit(
                    &l->state, &s, me, memory_order_acquire, memory_order_relaxed))
                return PC_RSPIN_ACQUIRED;
            pc_backoff_spin(&backoff);
        } else {
            pc_backoff_snooze(&backoff);
        }
        if (timeout_ns >= 0 && pc_now_ns() >= deadline)
            return PC_RSPIN_TIMEDOUT;
    }

    /* Phase 2: announce ourselves with the waiters bit and park, checking
     * the owner before the first park and every PC_RSPIN_CHECK_NS. */
    next_check = 0;
    for (;;) {
        int64_t left, nap;
        /* relaxed: the CASes below validate what we read. */
        uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (s == 0) {
            /* Take it with the waiters bit set: other waiters may be
             * parked, and losing their wake-up would hang them (Drepper's
             * state 2).  acquire: see the last holder's writes. */
            if (atomic_compare_exchange_strong_explicit(
                    &l->state, &s, me | PC_RSPIN_WAITERS, memory_order_acquire,
                    memory_order_relaxed))
                return PC_RSPIN_ACQUIRED;
            continue;
        }
        now = pc_now_ns();
        if (now >= next_check) {
            uint32_t owner = s & PC_IPC_PID_MASK;
            next_check = now + PC_RSPIN_CHECK_NS;
            if (owner != me && !pc_ipc_pid_alive(owner)) {
                /* acquire: whatever the dead owner managed to write before
                 * it died is visible to us (it may be half done). */
                if (atomic_compare_exchange_strong_explicit(
                        &l->state, &s, me | (s & PC_RSPIN_WAITERS),
                        memory_order_acquire, memory_order_relaxed))
                    return PC_RSPIN_OWNER_DIED;
                continue; /* somebody else took over or it was unlocked */
            }
        }
        if (!(s & PC_RSPIN_WAITERS)) {
            /* relaxed: setting the bit publishes nothing but "wake me";
             * if the word changed meanwhile, start over. */
            if (!atomic_compare_exchange_strong_explicit(
                    &l->state, &s, s | PC_RSPIN_WAITERS, memory_order_relaxed,
                    memory_order_relaxed))
                continue;
            s |= PC_RSPIN_WAITERS;
        }
        left = deadline == INT64_MAX ? INT64_MAX : deadline - now;
        if (left <= 0)
            return PC_RSPIN_TIMEDOUT;
        nap = next_check - now;
        if (nap > left)
            nap = left;
        if (nap < 0)
            nap = 0;
        pc_park_wait(&l->state, s, nap, true);
    }
}

int pc_rspin_trylock_robust(pc_rspin_t *l, uint32_t pid)
{
    uint32_t me = pid & PC_IPC_PID_MASK, s;
    if (pc_rspin_trylock(l, pid))
        return PC_RSPIN_ACQUIRED;
    /* relaxed: validated by the CAS below. */
    s = atomic_load_explicit(&l->state, memory_order_relaxed);
    if (s == 0 || (s & PC_IPC_PID_MASK) == me || pc_ipc_pid_alive(s & PC_IPC_PID_MASK))
        return PC_RSPIN_TIMEDOUT;
    /* acquire: see what the dead owner wrote.  Keep the waiters bit. */
    if (atomic_compare_exchange_strong_explicit(&l->state, &s,
                                                me | (s & PC_RSPIN_WAITERS),
                                                memory_order_acquire,
                                                memory_order_relaxed))
        return PC_RSPIN_OWNER_DIED;
    return PC_RSPIN_TIMEDOUT;
}

void pc_rspin_wake(pc_rspin_t *l)
{
    pc_park_wake_one(&l->state, true);
}
