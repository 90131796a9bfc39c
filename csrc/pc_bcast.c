/*
 * pc_bcast.c - see pc_bcast.h.
 */
#include "pc_bcast.h"

#include "pc_handoff.h"
#include "pc_park.h"

void pc_bcast_init(pc_bcast_t *b)
{
    /* relaxed, all: initialisation happens before the channel is shared. */
    pc_spin_init(&b->lock);
    atomic_store_explicit(&b->signal, 0, memory_order_relaxed);
    atomic_store_explicit(&b->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&b->closed, 0, memory_order_relaxed);
    atomic_store_explicit(&b->senders, 1, memory_order_relaxed);
    atomic_store_explicit(&b->waiters, 0, memory_order_relaxed);
    atomic_store_explicit(&b->async_waiters, 0, memory_order_relaxed);
    atomic_store_explicit(&b->receivers, 1, memory_order_relaxed);
    atomic_store_explicit(&b->closed_waiters, 0, memory_order_relaxed);
    atomic_store_explicit(&b->closed_async, NULL, memory_order_relaxed);
}

void pc_bcast_destroy(pc_bcast_t *b)
{
    pc_async_list_free(&b->closed_async);
}

/* A receiver left: the count before was `before`.  The last one wakes
 * whoever waits for closed(). */
static void receiver_left(pc_bcast_t *b, uint32_t before)
{
    if (before != 1)
        return;
    /* seq_cst: the waker's half of the Dekker pair (the decrement was
     * seq_cst too). */
    if (atomic_load_explicit(&b->closed_waiters, memory_order_seq_cst) != 0)
        pc_park_wake_all(&b->receivers, false);
    pc_async_slot_notify(&b->closed_async, PC_ASYNC_ALL);
}

bool pc_bcast_no_receivers(pc_bcast_t *b)
{
    return atomic_load_explicit(&b->receivers, memory_order_seq_cst) == 0;
}

bool pc_bcast_wait_closed(pc_bcast_t *b, int64_t timeout_ns)
{
    uint32_t n;
    /* seq_cst, both: the waiter's half of the pair with receiver_left. */
    atomic_fetch_add_explicit(&b->closed_waiters, 1, memory_order_seq_cst);
    n = atomic_load_explicit(&b->receivers, memory_order_seq_cst);
    if (n != 0)
        (void)pc_park_wait(&b->receivers, n, timeout_ns, false);
    /* relaxed: a waker that still counts us makes one needless call. */
    atomic_fetch_sub_explicit(&b->closed_waiters, 1, memory_order_relaxed);
    return pc_bcast_no_receivers(b);
}

static int64_t locked_tail(pc_bcast_t *b)
{
    /* The receiver count is checked under the lock, as tokio does.
     * relaxed: a count, it orders nothing. */
    if (atomic_load_explicit(&b->receivers, memory_order_relaxed) == 0) {
        pc_spin_unlock(&b->lock, false);
        return PC_BCAST_NO_RECEIVERS;
    }
    /* relaxed: only senders write the tail, under the lock we hold. */
    return (int64_t)atomic_load_explicit(&b->tail, memory_order_relaxed);
}

int64_t pc_bcast_send_begin(pc_bcast_t *b)
{
    if (!pc_spin_trylock(&b->lock))
        return PC_BCAST_BUSY;
    return locked_tail(b);
}

int64_t pc_bcast_send_lock(pc_bcast_t *b, int64_t timeout_ns)
{
    if (!pc_spin_lock_timed(&b->lock, timeout_ns, false))
        return PC_BCAST_BUSY;
    return locked_tail(b);
}

int64_t pc_bcast_send_end(pc_bcast_t *b, uint64_t pos)
{
    int64_t n;
    /* release: the slot's store (made before this call) is visible to a
     * receiver that reads the new tail with acquire. */
    atomic_store_explicit(&b->tail, pos + 1, memory_order_release);
    pc_spin_unlock(&b->lock, false);
    /* seq_cst: the sender's half of the Dekker pair with a receiver's
     * (waiters++, read signal); also a release of the slot's store to a
     * receiver that reads the new signal. */
    atomic_fetch_add_explicit(&b->signal, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&b->waiters, memory_order_seq_cst) != 0)
        pc_park_wake_all(&b->signal, false);
    /* relaxed: a count for the caller. */
    n = (int64_t)atomic_load_explicit(&b->receivers, memory_order_relaxed);
    /* seq_cst: as for waiters. */
    if (atomic_load_explicit(&b->async_waiters, memory_order_seq_cst) != 0)
        return ~n;
    return n;
}

uint64_t pc_bcast_tail(pc_bcast_t *b)
{
    /* acquire: pairs with send_end's release of the tail. */
    return atomic_load_explicit(&b->tail, memory_order_acquire);
}

bool pc_bcast_is_closed(pc_bcast_t *b)
{
    /* acquire: pairs with drop_sender's release; every value sent before
     * the close is then visible. */
    return atomic_load_explicit(&b->closed, memory_order_acquire) != 0;
}

uint64_t pc_bcast_subscribe(pc_bcast_t *b)
{
    /* relaxed: a count; the receiver starts at the tail read below. */
    atomic_fetch_add_explicit(&b->receivers, 1, memory_order_relaxed);
    return pc_bcast_tail(b);
}

void pc_bcast_unsubscribe(pc_bcast_t *b)
{
    /* seq_cst: a count, and the waker's write of the pair with closed()
     * (receiver_left). */
    receiver_left(b, atomic_fetch_sub_explicit(&b->receivers, 1, memory_order_seq_cst));
}

bool pc_bcast_lock_try(pc_bcast_t *b)
{
    return pc_spin_trylock(&b->lock);
}

bool pc_bcast_lock_timed(pc_bcast_t *b, int64_t timeout_ns)
{
    return pc_spin_lock_timed(&b->lock, timeout_ns, false);
}

void pc_bcast_unlock(pc_bcast_t *b)
{
    pc_spin_unlock(&b->lock, false);
}

uint64_t pc_bcast_join_locked(pc_bcast_t *b)
{
    /* relaxed, both: the lock orders them against the senders. */
    atomic_fetch_add_explicit(&b->receivers, 1, memory_order_relaxed);
    return atomic_load_explicit(&b->tail, memory_order_relaxed);
}

uint64_t pc_bcast_leave_locked(pc_bcast_t *b)
{
    /* seq_cst: the waker's write of the pair with closed()
     * (receiver_left); otherwise a count the lock orders.  relaxed tail:
     * as in join_locked. */
    receiver_left(b, atomic_fetch_sub_explicit(&b->receivers, 1, memory_order_seq_cst));
    return atomic_load_explicit(&b->tail, memory_order_relaxed);
}

uint32_t pc_bcast_receiver_count(pc_bcast_t *b)
{
    /* relaxed: a snapshot. */
    return atomic_load_explicit(&b->receivers, memory_order_relaxed);
}

bool pc_bcast_add_sender(pc_bcast_t *b)
{
    /* relaxed: a count; a CAS so that a closed channel (0 senders) is
     * never reopened. */
    uint32_t n = atomic_load_explicit(&b->senders, memory_order_relaxed);
    while (n != 0) {
        if (atomic_compare_exchange_weak_explicit(&b->senders, &n, n + 1,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
    return false;
}

bool pc_bcast_drop_sender(pc_bcast_t *b)
{
    /* acq_rel: the last sender sees every other sender's sends before it
     * closes the channel (and publishes them with the close). */
    if (atomic_fetch_sub_explicit(&b->senders, 1, memory_order_acq_rel) != 1)
        return false;
    /* release: pairs with pc_bcast_is_closed. */
    atomic_store_explicit(&b->closed, 1, memory_order_release);
    /* seq_cst: as in send_end. */
    atomic_fetch_add_explicit(&b->signal, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&b->waiters, memory_order_seq_cst) != 0)
        pc_park_wake_all(&b->signal, false);
    return true;
}

uint32_t pc_bcast_prepare(pc_bcast_t *b, bool is_async)
{
    /* seq_cst, both: the receiver's half of the Dekker pair. */
    atomic_fetch_add_explicit(is_async ? &b->async_waiters : &b->waiters, 1,
                              memory_order_seq_cst);
    return atomic_load_explicit(&b->signal, memory_order_seq_cst);
}

void pc_bcast_unprepare(pc_bcast_t *b, bool is_async)
{
    /* relaxed: a sender that still counts us only wakes needlessly. */
    atomic_fetch_sub_explicit(is_async ? &b->async_waiters : &b->waiters, 1,
                              memory_order_relaxed);
}

int pc_bcast_wait(pc_bcast_t *b, uint32_t seen, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    /* With hand-off on, a spin window before parking (pc_handoff.h).
     * acquire: as below. */
    PC_HANDOFF_SPIN_UNTIL(atomic_load_explicit(&b->signal, memory_order_acquire) != seen,
                          deadline);
    for (;;) {
        int64_t left = deadline - pc_now_ns();
        /* acquire: pairs with the senders' seq_cst increment, so the slot
         * stored before it is visible when we re-check. */
        if (atomic_load_explicit(&b->signal, memory_order_acquire) != seen) {
            /* Unregister at once, not when the caller has the GIL back:
             * until then every send would make a useless wake-up call.
             * relaxed: as in pc_bcast_unprepare. */
            atomic_fetch_sub_explicit(&b->waiters, 1, memory_order_relaxed);
            return PC_BCAST_CHANGED;
        }
        if (left <= 0)
            return PC_BCAST_PENDING;
        if (pc_park_wait(&b->signal, seen, left, false) == PC_PARK_INTERRUPTED)
            return PC_BCAST_PENDING;
    }
}
