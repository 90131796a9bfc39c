/*
 * pc_waitgroup.c - see pc_waitgroup.h.
 */
#include "pc_waitgroup.h"

#include "pc_handoff.h"
#include "pc_park.h"

void pc_waitgroup_done(pc_waitgroup_t *w)
{
    /* acq_rel: release publishes this member's writes; acquire, for the
     * last one, gathers everybody's before it bumps (release) for the
     * waiters, as a reference count's final decrement does. */
    if (atomic_fetch_sub_explicit(&w->count, 1, memory_order_acq_rel) == 1) {
        atomic_fetch_add_explicit(&w->epoch, 1, memory_order_release);
        pc_park_wake_all(&w->epoch, false);
    }
}

bool pc_waitgroup_wait_timed(pc_waitgroup_t *w, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    /* With hand-off on, a spin window before parking (pc_handoff.h). */
    PC_HANDOFF_SPIN_UNTIL(pc_waitgroup_is_zero(w), deadline);
    for (;;) {
        /* acquire: pairs with the last done()'s release bump. */
        uint32_t e = atomic_load_explicit(&w->epoch, memory_order_acquire);
        int64_t left;
        if (pc_waitgroup_is_zero(w))
            return true;
        left = deadline - pc_now_ns();
        if (left <= 0)
            return false;
        if (pc_park_wait(&w->epoch, e, left, false) == PC_PARK_INTERRUPTED)
            return pc_waitgroup_is_zero(w);
    }
}
