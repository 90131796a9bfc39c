/*
 * pc_shring_cells.h - private to pc_shring*.c: the ring's control words
 * (one per cell: a record's sequence, state, length in cells and slot)
 * and the addressing of cells.  pc_shring.h describes the protocol.
 */
#ifndef PC_SHRING_CELLS_H
#define PC_SHRING_CELLS_H

#include "pc_shring.h"

enum { PC_SHRING_S_FREE = 1, PC_SHRING_S_RESERVED = 2, PC_SHRING_S_COMMITTED = 3 };

#define PC_SHRING_SEQ_SHIFT 31
#define PC_SHRING_N_SHIFT 10
#define PC_SHRING_N_MASK ((1u << 21) - 1)
#define PC_SHRING_SLOT_SHIFT 2
#define PC_SHRING_SLOT_MASK 255u
_Static_assert(PC_SHRING_SLOTS == PC_SHRING_SLOT_MASK + 1, "slot bits");

PC_INLINE uint64_t pc_shring_seq(uint64_t pos)
{
    return pos << PC_SHRING_SEQ_SHIFT; /* the top bits fall off: 33 remain */
}

PC_INLINE uint64_t pc_shring_ctrl(uint64_t pos, unsigned state, unsigned slot,
                                  uint64_t n)
{
    return pc_shring_seq(pos) | ((n - 1) << PC_SHRING_N_SHIFT) |
           ((uint64_t)slot << PC_SHRING_SLOT_SHIFT) | state;
}

PC_INLINE uint64_t pc_shring_free_word(uint64_t pos)
{
    return pc_shring_seq(pos) | PC_SHRING_S_FREE;
}

PC_INLINE bool pc_shring_is_for(uint64_t ctrl, uint64_t pos)
{
    return (ctrl >> PC_SHRING_SEQ_SHIFT) == (pc_shring_seq(pos) >> PC_SHRING_SEQ_SHIFT);
}

PC_INLINE unsigned pc_shring_state(uint64_t ctrl)
{
    return (unsigned)(ctrl & 3u);
}

PC_INLINE uint64_t pc_shring_n(uint64_t ctrl)
{
    return ((ctrl >> PC_SHRING_N_SHIFT) & PC_SHRING_N_MASK) + 1;
}

PC_INLINE unsigned pc_shring_slot_of(uint64_t ctrl)
{
    return (unsigned)((ctrl >> PC_SHRING_SLOT_SHIFT) & PC_SHRING_SLOT_MASK);
}

PC_INLINE char *pc_shring_data(pc_shring_t *r)
{
    return (char *)r + sizeof(pc_shring_t);
}

PC_INLINE _Atomic uint64_t *pc_shring_ctrl_at(pc_shring_t *r, uint64_t pos)
{
    return (_Atomic uint64_t *)(pc_shring_data(r) +
                                (pos & (r->cells - 1)) * PC_SHRING_CELL);
}

PC_INLINE uint64_t pc_shring_cells_needed(uint64_t len)
{
    if (len <= PC_SHRING_FIRST_DATA)
        return 1;
    return 1 + (len - PC_SHRING_FIRST_DATA + PC_SHRING_CELL_DATA - 1) / PC_SHRING_CELL_DATA;
}

/* The payload bytes a record of n cells can hold. */
PC_INLINE uint64_t pc_shring_capacity_of(uint64_t n)
{
    return n * PC_SHRING_CELL_DATA - (PC_SHRING_CELL_DATA - PC_SHRING_FIRST_DATA);
}

/* The length word of the record at pos (plain: written by its producer
 * before the commit, read by the consumer after it). */
PC_INLINE char *pc_shring_len_at(pc_shring_t *r, uint64_t pos)
{
    return pc_shring_data(r) + (pos & (r->cells - 1)) * PC_SHRING_CELL + 8;
}

#endif /* PC_SHRING_CELLS_H */
