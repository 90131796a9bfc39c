/*
 * pc_chan_list.h - the unbounded flavor over pc_mpsc (Vyukov's node queue):
 * a push never fails but for memory; crossbeam-channel's flavors/list.rs.
 * The interface every flavor has is described in pc_chan_flavor.h.
 */
#ifndef PC_CHAN_LIST_H
#define PC_CHAN_LIST_H

#include "pc_config.h"
#include "pc_chan_flavor.h" /* the PC_CHAN_Q_* codes */
#include "pc_mpsc.h"

PC_INLINE bool pc_chan_list_init(pc_mpsc_t *q) { return pc_mpsc_init(q); }

PC_INLINE void pc_chan_list_destroy(pc_mpsc_t *q, void (*drop)(void *))
{
    pc_mpsc_destroy(q, drop);
}

PC_INLINE int pc_chan_list_push(pc_mpsc_t *q, void *value)
{
    pc_mpsc_node_t *n = pc_mpsc_node_new(value);
    if (PC_UNLIKELY(n == NULL))
        return PC_CHAN_Q_NOMEM;
    pc_mpsc_push(q, n);
    return PC_CHAN_Q_OK;
}

/* All of them (one exchange) or, out of memory, none. */
PC_INLINE int pc_chan_list_push_many(pc_mpsc_t *q, void *const *values, size_t n)
{
    return pc_mpsc_push_values(q, values, n) ? PC_CHAN_Q_OK : PC_CHAN_Q_NOMEM;
}

PC_INLINE int pc_chan_list_pop(pc_mpsc_t *q, void **value)
{
    int r = pc_mpsc_trypop(q, value);
    if (PC_LIKELY(r == PC_MPSC_OK))
        return PC_CHAN_Q_OK;
    return r == PC_MPSC_INCONSISTENT ? PC_CHAN_Q_BUSY : PC_CHAN_Q_EMPTY;
}

PC_INLINE size_t pc_chan_list_pop_many(pc_mpsc_t *q, void **out, size_t max)
{
    size_t n = 0;
    while (n < max && pc_mpsc_trypop(q, &out[n]) == PC_MPSC_OK)
        n++;
    return n;
}

/* A value pushed or being pushed (seq_cst: pc_mpsc_has_pending). */
PC_INLINE bool pc_chan_list_pending(pc_mpsc_t *q) { return pc_mpsc_has_pending(q); }

/* Whether a pending value is visible to a pop: the node queue cannot tell
 * without following `tail`, which only the consumer holding the lock may
 * do (the node may be freed under us), so it says yes, and the pop says
 * "busy" a few times while the producer links its node (a few
 * instructions, unless it was preempted). */
PC_INLINE bool pc_chan_list_published(pc_mpsc_t *q)
{
    (void)q;
    return true;
}

PC_INLINE uint64_t pc_chan_list_len(pc_mpsc_t *q) { return (uint64_t)pc_mpsc_count(q); }

PC_INLINE int pc_chan_list_foreach(pc_mpsc_t *q, pc_chan_visit_fn visit, void *arg)
{
    return pc_mpsc_foreach(q, visit, arg);
}

#endif /* PC_CHAN_LIST_H */
