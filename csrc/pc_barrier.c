/*
 * pc_barrier.c - see pc_barrier.h.
 */
#include "pc_barrier.h"

#include "pc_handoff.h"
#include "pc_park.h"

void pc_barrier_init(pc_barrier_t *b, uint32_t n)
{
    /* relaxed: initialisation happens before the barrier is shared. */
    atomic_store_explicit(&b->state, 0, memory_order_relaxed);
    atomic_store_explicit(&b->rounds, 0, memory_order_relaxed);
    b->n = n;
    atomic_store_explicit(&b->async, NULL, memory_order_relaxed);
}

void pc_barrier_destroy(pc_barrier_t *b)
{
    pc_async_list_free(&b->async);
}

/* Round r has completed once `rounds` has moved past it (mod 2^32). */
static bool passed(uint32_t rounds, uint32_t r)
{
    return (int32_t)(rounds - r) > 0;
}

int64_t pc_barrier_arrive(pc_barrier_t *b)
{
    uint64_t n = b->n;
    /* acq_rel: the arrival publishes this thread's writes before the
     * barrier (release) and, for the leader, acquires everybody's. */
    uint64_t s = atomic_fetch_add_explicit(&b->state, 1, memory_order_acq_rel);
    uint64_t arrived = s & 0xffffffffu;
    uint32_t round = (uint32_t)(s >> 32) + (uint32_t)(arrived / n);
    if (arrived % n != n - 1)
        return (int64_t)round;
    /* acq_rel: as above.  Subtracting n keeps later arrivals. */
    atomic_fetch_add_explicit(&b->state, ((uint64_t)1 << 32) - n,
                              memory_order_acq_rel);
    /* release: a waiter that sees the new count (acquire) sees every
     * arrival's writes, which the leader acquired above; seq_cst: also the
     * notifier's write of the Dekker pair with waiting coroutines (once
     * per round: the same instruction on x86). */
    atomic_fetch_add_explicit(&b->rounds, 1, memory_order_seq_cst);
    pc_park_wake_all(&b->rounds, false);
    pc_async_slot_notify(&b->async, PC_ASYNC_ALL);
    return PC_BARRIER_LEADER;
}

bool pc_barrier_passed(pc_barrier_t *b, uint32_t round)
{
    /* acquire: pairs with the leader's bump (its arrivals' writes). */
    return passed(atomic_load_explicit(&b->rounds, memory_order_acquire), round);
}

bool pc_barrier_wait(pc_barrier_t *b, uint32_t round, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    /* With hand-off on, a spin window before parking (pc_handoff.h).
     * acquire: as below. */
    PC_HANDOFF_SPIN_UNTIL(passed(atomic_load_explicit(&b->rounds, memory_order_acquire), round),
                          deadline);
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        /* acquire: pairs with the leader's release. */
        uint32_t r = atomic_load_explicit(&b->rounds, memory_order_acquire);
        if (passed(r, round))
            return true;
        if (left <= 0)
            return false;
        if (pc_park_wait(&b->rounds, r, left, false) == PC_PARK_INTERRUPTED)
            return passed(atomic_load_explicit(&b->rounds, memory_order_acquire),
                          round);
    }
}

bool pc_barrier_leave(pc_barrier_t *b, uint32_t round)
{
    /* relaxed: the CAS decides. */
    uint64_t s = atomic_load_explicit(&b->state, memory_order_relaxed);
    for (;;) {
        /* Our round is still the open one and our arrival is in it, and
         * the round is not complete: n arrivals counted means its leader
         * has arrived and is about to open the next round (between its
         * two fetch_adds the round number has not moved yet); taking an
         * arrival back then would make its subtraction of n borrow from
         * the round number. */
        uint64_t arrived = s & 0xffffffffu;
        uint32_t open = (uint32_t)(s >> 32);
        if (open != round && !passed(open, round)) {
            /* We arrived for the round after the open one, whose leader
             * is between its two fetch_adds: our arrival is not in our
             * round's count yet.  Wait the few instructions for it.
             * relaxed: as above. */
            pc_cpu_relax();
            s = atomic_load_explicit(&b->state, memory_order_relaxed);
            continue;
        }
        if (open != round || arrived == 0 || arrived >= b->n)
            return false;
        /* acquire on failure is not needed: we only re-read the word. */
        if (atomic_compare_exchange_weak_explicit(&b->state, &s, s - 1,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
}

bool pc_barrier_is_passed(pc_barrier_t *b, uint32_t round)
{
    /* acquire: pairs with the leader's release of `rounds`. */
    return passed(atomic_load_explicit(&b->rounds, memory_order_acquire), round);
}
