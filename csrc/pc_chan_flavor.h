/*
 * pc_chan_flavor.h - the channel's three flavors behind one interface, as
 * crossbeam-channel's flavors/{list,array,zero}.rs (pc_chan_list.h,
 * pc_chan_array.h, pc_chan_zero.h): each flavor is a
 * queue of the core reached only through that queue's own API, and the
 * channel layer (pc_chan.h, pc_chan.c) reaches the queues only through
 * the pc_chan_<flavor>_<op> functions below, dispatched on the channel's
 * kind in one place per operation.
 *
 *   list   PC_CHAN_UNBOUNDED   pc_mpsc (pc_mpsc.h): a push never fails
 *                              but for memory;
 *   array  PC_CHAN_BOUNDED     pc_ring (pc_ring.h) of `cap` slots: a push
 *                              fails while full;
 *   zero   PC_CHAN_RENDEZVOUS  pc_ring of one retractable slot: a push
 *                              returns the position its sender waits on
 *                              until a receiver took it (pc_chan_zero_taken)
 *                              or it takes the value back (_retract).
 *
 * Every function is the queue's call and nothing more (no channel state,
 * no wake-ups: pc_chan.h does those), so the flavors cost nothing over
 * calling the queues directly: they are inline and the dispatch is the
 * one test of `kind` the channel made before.  Results: the PC_CHAN_Q_*
 * codes, which the channel maps to its own.  The consumer-only calls
 * (pop, pop_many, len, drain) run under the channel's consumer lock.
 */
#ifndef PC_CHAN_FLAVOR_H
#define PC_CHAN_FLAVOR_H

#include "pc_config.h"

enum {
    PC_CHAN_Q_OK = 0,
    PC_CHAN_Q_EMPTY = 1, /* pop: nothing queued */
    PC_CHAN_Q_BUSY = 2,  /* pop: a push is half done, a value is coming */
    PC_CHAN_Q_FULL = 3,  /* push: no room */
    PC_CHAN_Q_NOMEM = 4  /* push: out of memory */
};

typedef int (*pc_chan_visit_fn)(void *value, void *arg);

/* Each flavor in its own file, after the codes and types they share. */
#include "pc_chan_array.h"
#include "pc_chan_list.h"
#include "pc_chan_zero.h"

/*
 * The interface (pc_chan_<flavor>_<op>, on the flavor's queue):
 *   init, destroy(drop)     before sharing / after every handle is gone
 *   push(value[, pos])      PC_CHAN_Q_OK, _FULL (array, zero), _NOMEM (list)
 *   push_many(values, n)    list: all or none; array: how many fit
 *   pop(&value)             PC_CHAN_Q_OK, _EMPTY or _BUSY     (consumer)
 *   pop_many(out, max)      how many                          (consumer)
 *   pending                 a value pushed, perhaps half (seq_cst)
 *   published               the front value is visible to pop
 *   has_room                a push may succeed now (array, zero)
 *   len, foreach            a snapshot; the collector's walk
 *   taken, retract          zero only: the hand-over of one value
 */

#endif /* PC_CHAN_FLAVOR_H */
