/*
 * pc_chan_array.h - the bounded flavor over pc_ring with `cap` slots: a push
 * fails while full; crossbeam-channel's flavors/array.rs.
 * The interface every flavor has is described in pc_chan_flavor.h.
 */
#ifndef PC_CHAN_ARRAY_H
#define PC_CHAN_ARRAY_H

#include "pc_config.h"
#include "pc_chan_flavor.h" /* the PC_CHAN_Q_* codes */
#include "pc_ring.h"

PC_INLINE bool pc_chan_array_init(pc_ring_t *r, uint64_t cap)
{
    return pc_ring_init(r, cap, false);
}

PC_INLINE void pc_chan_array_destroy(pc_ring_t *r, void (*drop)(void *))
{
    pc_ring_destroy(r, drop);
}

/* pos (may be NULL) receives the position, as for zero (unused here). */
PC_INLINE int pc_chan_array_push(pc_ring_t *r, void *value, uint64_t *pos)
{
    return PC_LIKELY(pc_ring_trypush(r, value, pos) == PC_RING_OK) ? PC_CHAN_Q_OK
                                                                   : PC_CHAN_Q_FULL;
}

/* As many as fit, in order; returns how many. */
PC_INLINE size_t pc_chan_array_push_many(pc_ring_t *r, void *const *values, size_t n)
{
    size_t sent = 0;
    while (sent < n) {
        size_t k = pc_ring_trypush_many(r, values + sent, n - sent);
        if (k == 0)
            break;
        sent += k;
    }
    return sent;
}

PC_INLINE int pc_chan_array_pop(pc_ring_t *r, void **value)
{
    int res = pc_ring_trypop(r, value);
    if (PC_LIKELY(res == PC_RING_OK))
        return PC_CHAN_Q_OK;
    return res == PC_RING_INCONSISTENT ? PC_CHAN_Q_BUSY : PC_CHAN_Q_EMPTY;
}

/* One store of head for the batch (pc_ring_trypop_many). */
PC_INLINE size_t pc_chan_array_pop_many(pc_ring_t *r, void **out, size_t max)
{
    return pc_ring_trypop_many(r, out, max);
}

/* A position claimed and not popped (seq_cst: pc_ring_has_pending). */
PC_INLINE bool pc_chan_array_pending(pc_ring_t *r) { return pc_ring_has_pending(r); }
PC_INLINE bool pc_chan_array_published(pc_ring_t *r) { return pc_ring_front_published(r); }
PC_INLINE bool pc_chan_array_has_room(pc_ring_t *r) { return pc_ring_has_room(r); }
PC_INLINE uint64_t pc_chan_array_len(pc_ring_t *r) { return pc_ring_count(r); }
PC_INLINE uint64_t pc_chan_array_cap(pc_ring_t *r) { return r->cap; }

PC_INLINE int pc_chan_array_foreach(pc_ring_t *r, pc_chan_visit_fn visit, void *arg)
{
    return pc_ring_foreach(r, visit, arg);
}

#endif /* PC_CHAN_ARRAY_H */
