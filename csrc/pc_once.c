/*
 * pc_once.c - see pc_once.h.
 */
#include "pc_once.h"

#include "pc_handoff.h"
#include "pc_park.h"

void pc_once_init(pc_once_t *o)
{
    /* relaxed: initialisation happens before the word is shared. */
    atomic_store_explicit(&o->state, PC_ONCE_INCOMPLETE, memory_order_relaxed);
}

uint32_t pc_once_state(pc_once_t *o)
{
    /* acquire: pairs with pc_once_finish's release. */
    return atomic_load_explicit(&o->state, memory_order_acquire);
}

uint32_t pc_once_try_begin(pc_once_t *o, bool ignore_poison)
{
    /* acquire (both outcomes): on success we follow a failed initialiser
     * and may look at what it left; on failure we may return COMPLETE and
     * the caller then reads the initialised data. */
    uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
    while (s == PC_ONCE_INCOMPLETE || (ignore_poison && s == PC_ONCE_POISONED)) {
        if (atomic_compare_exchange_weak_explicit(&o->state, &s, PC_ONCE_RUNNING,
                                                  memory_order_acquire,
                                                  memory_order_acquire))
            return s;
    }
    return s;
}

void pc_once_finish(pc_once_t *o, uint32_t state)
{
    /* release: publish the initialiser's writes with the new state. */
    atomic_store_explicit(&o->state, state, memory_order_release);
    pc_park_wake_all(&o->state, false);
}

uint32_t pc_once_wait(pc_once_t *o, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    /* With hand-off on, a spin window before parking (pc_handoff.h).
     * acquire: as below. */
    PC_HANDOFF_SPIN_UNTIL(atomic_load_explicit(&o->state, memory_order_acquire) !=
                              PC_ONCE_RUNNING,
                          deadline);
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        /* acquire: as pc_once_state. */
        uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
        if (s != PC_ONCE_RUNNING || left <= 0)
            return s;
        if (pc_park_wait(&o->state, PC_ONCE_RUNNING, left, false) ==
            PC_PARK_INTERRUPTED)
            return atomic_load_explicit(&o->state, memory_order_acquire);
    }
}

static inline bool pc_once_done(uint32_t s, bool ignore_poison)
{
    return s == PC_ONCE_COMPLETE || (!ignore_poison && s == PC_ONCE_POISONED);
}

uint32_t pc_once_wait_done(pc_once_t *o, int64_t timeout_ns, bool ignore_poison)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    /* acquire: as pc_once_state. */
    PC_HANDOFF_SPIN_UNTIL(pc_once_done(atomic_load_explicit(&o->state, memory_order_acquire),
                                       ignore_poison),
                          deadline);
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        /* acquire: as pc_once_state. */
        uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
        if (pc_once_done(s, ignore_poison) || left <= 0)
            return s;
        /* Asleep on whatever state it is (INCOMPLETE, RUNNING, POISONED):
         * only pc_once_finish ends one, and it wakes every sleeper. */
        if (pc_park_wait(&o->state, s, left, false) == PC_PARK_INTERRUPTED)
            return atomic_load_explicit(&o->state, memory_order_acquire);
    }
}
