/*
 * pc_atomic.h - 64-bit atomics with an explicit memory ordering per call.
 *
 * Three cells, each 8 bytes and 8-aligned so that the same layout works in
 * private memory and in a buffer shared between processes:
 *   pc_atomic_i64_t   signed, two's-complement wrap-around arithmetic
 *   pc_atomic_u64_t   unsigned, modular arithmetic
 *   pc_atomic_bool_t  0 or 1 in a 64-bit word
 *
 * Every operation takes one of PC_RELAXED ... PC_SEQ_CST (pc_config.h).
 * The Python layer rejects orderings that C11 forbids for an operation (a
 * RELEASE load, an ACQUIRE store, a RELEASE failure ordering); here an
 * order outside an operation's set is treated as PC_SEQ_CST, the one
 * ordering valid everywhere, so a bad value can only make a call slower,
 * never unsound.
 *
 * compare_exchange returns the previous value; it succeeded exactly when
 * that equals `expected`.  The weak form may fail even then (on LL/SC
 * machines such as aarch64), so it reports success separately.
 */
#ifndef PC_ATOMIC_H
#define PC_ATOMIC_H

#include "pc_config.h"

typedef struct pc_atomic_i64 {
    _Atomic int64_t value;
} pc_atomic_i64_t;

typedef struct pc_atomic_u64 {
    _Atomic uint64_t value;
} pc_atomic_u64_t;

typedef struct pc_atomic_bool {
    _Atomic uint64_t value; /* 0 or 1 */
} pc_atomic_bool_t;

typedef struct pc_cas_i64 {
    int64_t previous;
    bool ok;
} pc_cas_i64_t;

typedef struct pc_cas_u64 {
    uint64_t previous;
    bool ok;
} pc_cas_u64_t;

typedef struct pc_cas_bool {
    bool previous;
    bool ok;
} pc_cas_bool_t;

#define PC_ATOMIC_DECLARE_INT(name, T)                                            \
    T pc_atomic_##name##_load(pc_atomic_##name##_t *a, int order);                \
    void pc_atomic_##name##_store(pc_atomic_##name##_t *a, T v, int order);       \
    T pc_atomic_##name##_swap(pc_atomic_##name##_t *a, T v, int order);           \
    T pc_atomic_##name##_fetch_add(pc_atomic_##name##_t *a, T v, int order);      \
    T pc_atomic_##name##_fetch_sub(pc_atomic_##name##_t *a, T v, int order);      \
    T pc_atomic_##name##_fetch_and(pc_atomic_##name##_t *a, T v, int order);      \
    T pc_atomic_##name##_fetch_or(pc_atomic_##name##_t *a, T v, int order);       \
    T pc_atomic_##name##_fetch_xor(pc_atomic_##name##_t *a, T v, int order);      \
    T pc_atomic_##name##_fetch_nand(pc_atomic_##name##_t *a, T v, int order);     \
    T pc_atomic_##name##_fetch_max(pc_atomic_##name##_t *a, T v, int order);      \
    T pc_atomic_##name##_fetch_min(pc_atomic_##name##_t *a, T v, int order);      \
    T pc_atomic_##name##_compare_exchange(pc_atomic_##name##_t *a, T expected,    \
                                          T desired, int success, int failure);   \
    pc_cas_##name##_t pc_atomic_##name##_compare_exchange_weak(                   \
        pc_atomic_##name##_t *a, T expected, T desired, int success, int failure);

PC_ATOMIC_DECLARE_INT(i64, int64_t)
PC_ATOMIC_DECLARE_INT(u64, uint64_t)

bool pc_atomic_bool_load(pc_atomic_bool_t *a, int order);
void pc_atomic_bool_store(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_swap(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_and(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_or(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_xor(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_nand(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_compare_exchange(pc_atomic_bool_t *a, bool expected,
                                     bool desired, int success, int failure);
pc_cas_bool_t pc_atomic_bool_compare_exchange_weak(pc_atomic_bool_t *a,
                                                   bool expected, bool desired,
                                                   int success, int failure);

/*
 * The default load, inline: `load()` with no ordering is the commonest call
 * of all, and the out-of-line dispatch on `order` above costs a call and a
 * switch that are a measurable part of it.  seq_cst: the default ordering
 * (Rust has none; Python users who do not name one get the strongest, as
 * Java's and cereggii's plain reads are).  On x86-64 and aarch64 a seq_cst
 * load is the same instruction as an acquire load (mov; ldar).
 */
PC_INLINE int64_t pc_atomic_i64_load_seq_cst(pc_atomic_i64_t *a)
{
    return atomic_load_explicit(&a->value, memory_order_seq_cst);
}

PC_INLINE uint64_t pc_atomic_u64_load_seq_cst(pc_atomic_u64_t *a)
{
    return atomic_load_explicit(&a->value, memory_order_seq_cst);
}

PC_INLINE bool pc_atomic_bool_load_seq_cst(pc_atomic_bool_t *a)
{
    /* the word holds 0 or 1 (every store writes one of them) */
    return atomic_load_explicit(&a->value, memory_order_seq_cst) != 0;
}

/* A memory fence (atomic_thread_fence) with the given ordering. */
void pc_atomic_fence(int order);

#endif /* PC_ATOMIC_H */
