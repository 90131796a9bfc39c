/*
 * pc_waitgroup.h - a wait group: wait until every member is done
 * (crossbeam's WaitGroup; Go's sync.WaitGroup counted by handles).
 *
 * `count` is the number of members not done yet.  A member's done() is
 * one fetch_sub; the one that takes the count to zero bumps `epoch` and
 * wakes every waiter.  A waiter reads `epoch`, then `count`, and sleeps
 * only while the epoch is the one it read: the last done() decrements
 * before it bumps (release), so a waiter that sees the bump (acquire) sees
 * the zero, and one that read the epoch before the bump is woken by it.
 * Members' writes before done() happen before the waiter's return.
 */
#ifndef PC_WAITGROUP_H
#define PC_WAITGROUP_H

#include "pc_config.h"

typedef struct pc_waitgroup {
    _Atomic uint64_t count; /* members not done */
    _Atomic uint32_t epoch; /* the futex word: bumped when count reaches 0 */
} pc_waitgroup_t;

PC_INLINE void pc_waitgroup_init(pc_waitgroup_t *w, uint64_t members)
{
    /* relaxed: before the group is shared. */
    atomic_store_explicit(&w->count, members, memory_order_relaxed);
    atomic_store_explicit(&w->epoch, 0, memory_order_relaxed);
}

/* One more member (a clone).  Only by a member not done, so the count is
 * not zero.  relaxed: a new member needs no ordering with the others, as
 * for a reference count's increment. */
PC_INLINE void pc_waitgroup_add(pc_waitgroup_t *w)
{
    atomic_fetch_add_explicit(&w->count, 1, memory_order_relaxed);
}

/* A member is done; the last one wakes the waiters. */
void pc_waitgroup_done(pc_waitgroup_t *w);

/* Every member done?  acquire: their writes are visible. */
PC_INLINE bool pc_waitgroup_is_zero(pc_waitgroup_t *w)
{
    return atomic_load_explicit(&w->count, memory_order_acquire) == 0;
}

/* Wait at most timeout_ns for the count to reach zero (call without the
 * GIL); returns early on a signal.  true once it is zero. */
bool pc_waitgroup_wait_timed(pc_waitgroup_t *w, int64_t timeout_ns);

#endif /* PC_WAITGROUP_H */
