/*
 * pc_select.h - waiting on several channels at once (crossbeam-channel's
 * Select, Go's select).
 *
 * A select is a list of operations, each a receive on a channel or a send
 * on a bounded one.  The operations themselves are the channels' own
 * try-operations (pc_chan_trypop under the consumer lock, pc_chan_trysend),
 * run by the caller: a select tries them in turn from a random start
 * (pc_select_start: fair when several are ready, as crossbeam and Go), and
 * the first that completes is the select's result.  Only when none can
 * complete does it wait, here, on all the channels at once:
 *
 *   - one waiter (pc_chan_waiter_t) per operation is registered with its
 *     channel (pc_chan_rx_register / pc_chan_tx_register), every one of
 *     them pointing at one word of the selecting thread;
 *   - then every operation is re-checked (pc_chan_rx_ready /
 *     pc_chan_tx_ready: seq_cst loads, the waiting side of the channel's
 *     Dekker patterns, pc_chan.h); if none is ready the thread parks on
 *     its word; the first event on any channel (a value, room, a
 *     disconnection, a close) stores 1 into the word and wakes it;
 *   - every waiter is unregistered before the wait returns, and the caller
 *     tries the operations again.
 *
 * Nothing is taken while waiting, so no value is lost or taken twice: a
 * value that arrives is popped by the try that follows (or by another
 * receiver first, which is then simply an empty try).  A select that
 * completes one operation while another of its receive channels has a
 * value passes on the wake-up it may have consumed (pc_chan_rx_pass), as
 * a plain receiver leaving without a value does.
 *
 * Like every wait of the core: a short backoff, one pc_handoff.h spin
 * window, then park; at most timeout_ns; may return early (callers
 * re-check).  Without the GIL.
 */
#ifndef PC_SELECT_H
#define PC_SELECT_H

#include "pc_chan.h"

/* One operation of a select, as the wait sees it. */
typedef struct pc_select_op {
    pc_chan_t *chan;
    bool is_send;         /* send (room wanted), else receive */
    pc_chan_waiter_t w;   /* registered with chan while waiting */
} pc_select_op_t;

/* Is operation op worth a try (a value, room, or the other side gone)? */
bool pc_select_op_ready(pc_select_op_t *op);

/*
 * Wait until one of the n operations may complete, the deadline of
 * timeout_ns passes, or a wake-up comes (callers re-check).  PC_CHAN_READY
 * or PC_CHAN_TIMEDOUT.
 */
int pc_select_wait(pc_select_op_t *ops, size_t n, int64_t timeout_ns);

/* A random start in [0, n) for the next select's tries (a per-thread
 * xorshift generator, seeded from the thread's stack address and the
 * clock). */
size_t pc_select_start(size_t n);

#endif /* PC_SELECT_H */
