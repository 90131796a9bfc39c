/*
 * pc_select.c - waiting on several channels at once (pc_select.h).
 */
#include "pc_select.h"

#include "pc_backoff.h"
#include "pc_handoff.h"

bool pc_select_op_ready(pc_select_op_t *op)
{
    if (!op->is_send)
        return pc_chan_rx_ready(op->chan);
    /* An unbounded channel always has room. */
    return op->chan->kind == PC_CHAN_UNBOUNDED || pc_chan_tx_ready(op->chan, -1);
}

static bool pc_select_any_ready(pc_select_op_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pc_select_op_ready(&ops[i]))
            return true;
    return false;
}

int pc_select_wait(pc_select_op_t *ops, size_t n, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    _Atomic uint32_t word;
    pc_backoff_t backoff;
    bool ready;
    int64_t left;

    /* Spin, then yield, then one hand-off window, as pc_chan_recv_wait. */
    pc_backoff_init(&backoff);
    while (!pc_select_any_ready(ops, n) && !pc_backoff_is_completed(&backoff) &&
           pc_now_ns() < deadline)
        pc_backoff_snooze(&backoff);
    PC_HANDOFF_SPIN_UNTIL(pc_select_any_ready(ops, n), deadline);
    if (pc_select_any_ready(ops, n))
        return PC_CHAN_READY;

    /* relaxed: private until registered (the channels' w_lock publishes
     * the waiters and this word's address). */
    atomic_store_explicit(&word, 0, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        ops[i].w.word = &word;
        if (ops[i].is_send)
            pc_chan_tx_register(ops[i].chan, &ops[i].w);
        else
            pc_chan_rx_register(ops[i].chan, &ops[i].w);
    }
    /* Re-check after registering (pc_chan.h's Dekker patterns), park. */
    ready = pc_select_any_ready(ops, n);
    left = deadline - pc_now_ns();
    if (!ready && left > 0)
        pc_park_wait(&word, 0, left, false);
    for (size_t i = 0; i < n; i++) {
        if (ops[i].is_send)
            pc_chan_tx_unregister(ops[i].chan, &ops[i].w);
        else
            pc_chan_rx_unregister(ops[i].chan, &ops[i].w);
    }
    /* acquire: a waker's store; whatever it published is visible to the
     * caller's tries.  (The unregistration took each channel's w_lock
     * after any waker holding it, which orders the same.) */
    if (ready || atomic_load_explicit(&word, memory_order_acquire) != 0 ||
        pc_select_any_ready(ops, n))
        return PC_CHAN_READY;
    return deadline - pc_now_ns() > 0 ? PC_CHAN_READY : PC_CHAN_TIMEDOUT;
}

size_t pc_select_start(size_t n)
{
    static PC_THREAD_LOCAL_FAST uint64_t state; /* the generator's, per thread */
    uint64_t x = state;
    if (n <= 1)
        return 0;
    if (x == 0) {
        x = (uint64_t)(uintptr_t)&x ^ (uint64_t)pc_now_ns() ^ 0x9e3779b97f4a7c15u;
        if (x == 0)
            x = 1;
    }
    /* Marsaglia's xorshift64. */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state = x;
    /* The high 32 bits scaled to [0, n) by a multiplication (Lemire's
     * reduction; no division on the fast path). */
    return (size_t)(((x >> 32) * (uint64_t)(uint32_t)n) >> 32);
}
