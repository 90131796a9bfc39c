/*
 * pc_parker.c - see pc_parker.h.
 */
#include "pc_parker.h"

#include "pc_handoff.h"
#include "pc_park.h"

bool pc_parker_park_timed(pc_parker_t *p, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    uint32_t expected = PC_PARKER_EMPTY;
    bool taken;
    /* With hand-off on, a spin window before parking (pc_handoff.h).
     * relaxed: only a hint; the CAS below acquires. */
    PC_HANDOFF_SPIN_UNTIL(atomic_load_explicit(&p->state, memory_order_relaxed) ==
                              PC_PARKER_NOTIFIED,
                          deadline);
    if (pc_parker_try_park(p))
        return true;
    /* Announce the sleep.  relaxed on success: the futex wait re-reads
     * the word; if an unpark comes first the CAS fails and we take its
     * token below, with acquire. */
    if (!atomic_compare_exchange_strong_explicit(&p->state, &expected, PC_PARKER_PARKED,
                                                 memory_order_relaxed,
                                                 memory_order_relaxed))
        return pc_parker_try_park(p);
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        if (left <= 0 || pc_park_wait(&p->state, PC_PARKER_PARKED, left, false) !=
                             PC_PARK_WOKEN)
            break;
        /* relaxed: woken or spurious; only NOTIFIED ends the sleep. */
        if (atomic_load_explicit(&p->state, memory_order_relaxed) != PC_PARKER_PARKED)
            break;
    }
    /* Leave the PARKED state whatever happened.  acquire: if the exchange
     * returns NOTIFIED, the token's unpark happens before our return. */
    taken = atomic_exchange_explicit(&p->state, PC_PARKER_EMPTY, memory_order_acquire) ==
            PC_PARKER_NOTIFIED;
    return taken;
}

void pc_parker_unpark(pc_parker_t *p)
{
    /* release: pairs with the parker's acquire (pc_parker.h). */
    if (atomic_exchange_explicit(&p->state, PC_PARKER_NOTIFIED, memory_order_release) ==
        PC_PARKER_PARKED)
        pc_park_wake_one(&p->state, false);
}
