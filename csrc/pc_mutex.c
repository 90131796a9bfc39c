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
