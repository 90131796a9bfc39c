/*
 * pc_mutex.c - the waiting half of pc_mutex.h.
 */
#include "pc_mutex.h"

int pc_mutex_lock_timed(pc_mutex_t *m, int64_t timeout_ns)
{
    if (!pc_spin_lock_timed(&m->lock, timeout_ns, false))
        return PC_MUTEX_BUSY;
    return pc_mutex_locked_state(m);
}

/* Take the lock, or mark it CONTENDED while `async_waiters` (the caller's
 * view of the registered coroutines); the CAS loop of a parking thread,
 * without the park.  True if the caller now holds the lock. */
static bool pc_mutex_take_or_mark(pc_mutex_t *m, bool async_waiters)
{
    /* relaxed: a guess for the CASes below, which order what matters. */
    uint32_t s = atomic_load_explicit(&m->lock.state, memory_order_relaxed);
    for (;;) {
        if (s == PC_SPIN_UNLOCKED) {
            /* acquire on success: as pc_spin_trylock.  A coroutine that
             * takes the lock while others wait leaves it CONTENDED, so
             * that its unlock fires the next. */
            if (atomic_compare_exchange_weak_explicit(
                    &m->lock.state, &s, async_waiters ? PC_SPIN_CONTENDED : PC_SPIN_LOCKED,
                    memory_order_acquire, memory_order_relaxed))
                return true;
        } else if (s == PC_SPIN_CONTENDED || !async_waiters) {
            return false;
        } else {
            /* release: our registration (before this, in the list) is
             * seen by the unlock that reads CONTENDED (pc_mutex_unlock's
             * acquire fence). */
            if (atomic_compare_exchange_weak_explicit(&m->lock.state, &s, PC_SPIN_CONTENDED,
                                                      memory_order_release,
                                                      memory_order_relaxed))
                return false;
        }
    }
}

int pc_mutex_trylock_async(pc_mutex_t *m)
{
    if (!pc_mutex_take_or_mark(m, pc_async_slot_waiting(&m->async) != 0))
        return PC_MUTEX_BUSY;
    return pc_mutex_locked_state(m);
}

void pc_mutex_async_chain(pc_mutex_t *m)
{
    pc_async_list_t *l = pc_async_list_peek(&m->async);
    if (l == NULL || pc_async_waiting(l) == 0)
        return;
    /* Free: the next coroutine takes it (its attempt); held: the holder's
     * unlock must fire it. */
    if (pc_mutex_take_or_mark(m, true)) {
        /* We took the lock only to learn that it was free: give it back;
         * the unlock finds CONTENDED and fires the next coroutine. */
        (void)pc_mutex_unlock(m, false);
    }
}
