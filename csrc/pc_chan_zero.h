/*
 * pc_chan_zero.h - the rendezvous flavor over pc_ring with one retractable
 * slot: a push returns the position its sender waits on until a receiver
 * took the value (pc_chan_zero_taken) or it takes the value back
 * (pc_chan_zero_retract); crossbeam-channel's flavors/zero.rs.
 * The interface every flavor has is described in pc_chan_flavor.h.
 */
#ifndef PC_CHAN_ZERO_H
#define PC_CHAN_ZERO_H

#include "pc_config.h"
#include "pc_chan_flavor.h" /* the PC_CHAN_Q_* codes */
#include "pc_chan_array.h"
#include "pc_ring.h"

PC_INLINE bool pc_chan_zero_init(pc_ring_t *r) { return pc_ring_init(r, 1, true); }

PC_INLINE void pc_chan_zero_destroy(pc_ring_t *r, void (*drop)(void *))
{
    pc_ring_destroy(r, drop);
}

/* Push and pop are the array's, on a retractable ring of one slot: the
 * push returns, in *pos, the position its sender then waits on; the pop
 * claims the value with a CAS (pc_ring_trypop, for a retractable ring), so
 * that exactly one of the receiver and a retracting sender gets it, and
 * skips retracted slots.  The same functions, so that the channel's hot
 * paths test the kind once, list or ring, as before the flavors. */
#define pc_chan_zero_push pc_chan_array_push
#define pc_chan_zero_pop pc_chan_array_pop

PC_INLINE size_t pc_chan_zero_pop_many(pc_ring_t *r, void **out, size_t max)
{
    size_t n = 0;
    while (n < max && pc_ring_trypop(r, &out[n]) == PC_RING_OK)
        n++;
    return n;
}

PC_INLINE bool pc_chan_zero_pending(pc_ring_t *r) { return pc_ring_has_pending(r); }
PC_INLINE bool pc_chan_zero_published(pc_ring_t *r) { return pc_ring_front_published(r); }
PC_INLINE bool pc_chan_zero_has_room(pc_ring_t *r) { return pc_ring_has_room(r); }
PC_INLINE uint64_t pc_chan_zero_len(pc_ring_t *r) { return pc_ring_count(r); }

/* True once the value pushed at pos has been taken by a receiver. */
PC_INLINE bool pc_chan_zero_taken(pc_ring_t *r, uint64_t pos) { return pc_ring_taken(r, pos); }

/* Take back the value pushed at pos; true if we got it back. */
PC_INLINE bool pc_chan_zero_retract(pc_ring_t *r, uint64_t pos) { return pc_ring_retract(r, pos); }

/* The slot's value is visited too: the channel holds its reference until
 * it is received or retracted. */
PC_INLINE int pc_chan_zero_foreach(pc_ring_t *r, pc_chan_visit_fn visit, void *arg)
{
    return pc_ring_foreach(r, visit, arg);
}

#endif /* PC_CHAN_ZERO_H */
