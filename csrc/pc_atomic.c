/*
 * pc_atomic.c - the atomic operations of pc_atomic.h.
 *
 * Each operation switches on the caller's ordering so that every
 * atomic_*_explicit call below sees a constant memory_order: a variable
 * order would be legal C but compilers then emit the seq_cst form.  The
 * orderings mean exactly what C11 says; this file adds no fences of its own.
 */
#include "pc_atomic.h"

/* Dispatch `X(mo)` on an ordering, one case per ordering valid for the
 * operation class; anything else gets seq_cst (see pc_atomic.h). */
#define PC_ON_LOAD_ORDER(order, X)                                         \
    switch (order) {                                                       \
    case PC_RELAXED: X(memory_order_relaxed);                              \
    case PC_ACQUIRE: X(memory_order_acquire);                              \
    default: X(memory_order_seq_cst);                                      \
    }

#define PC_ON_STORE_ORDER(order, X)                                        \
    switch (order) {                                                       \
    case PC_RELAXED: X(memory_order_relaxed);                              \
    case PC_RELEASE: X(memory_order_release);                              \
    default: X(memory_order_seq_cst);                                      \
    }

#define PC_ON_RMW_ORDER(order, X)                                          \
    switch (order) {                                                       \
    case PC_RELAXED: X(memory_order_relaxed);                              \
    case PC_ACQUIRE: X(memory_order_acquire);                              \
    case PC_RELEASE: X(memory_order_release);                              \
    case PC_ACQ_REL: X(memory_order_acq_rel);                              \
    default: X(memory_order_seq_cst);                                      \
    }

/*
 * Compare-exchange takes a (success, failure) pair.  C11 requires the
 * failure ordering to be no stronger than the success ordering; Rust and
 * C++17 allow it, and so does pyconc, by strengthening the success
 * ordering to cover the failure one (what Rust's codegen does for LLVM).
 */
#define PC_ON_CAS_ORDER(success, failure, X)                               \
    switch (failure) {                                                     \
    case PC_RELAXED:                                                       \
        switch (success) {                                                 \
        case PC_RELAXED: X(memory_order_relaxed, memory_order_relaxed);    \
        case PC_ACQUIRE: X(memory_order_acquire, memory_order_relaxed);    \
        case PC_RELEASE: X(memory_order_release, memory_order_relaxed);    \
        case PC_ACQ_REL: X(memory_order_acq_rel, memory_order_relaxed);    \
        default: X(memory_order_seq_cst, memory_order_relaxed);            \
        }                                                                  \
    case PC_ACQUIRE:                                                       \
        switch (success) {                                                 \
        case PC_RELAXED:                                                   \
        case PC_ACQUIRE: X(memory_order_acquire, memory_order_acquire);    \
        case PC_RELEASE:                                                   \
        case PC_ACQ_REL: X(memory_order_acq_rel, memory_order_acquire);    \
        default: X(memory_order_seq_cst, memory_order_acquire);            \
        }                                                                  \
    default: X(memory_order_seq_cst, memory_order_seq_cst);                \
    }

/*
 * Read-modify-write operations that C11 lacks (nand, max, min) are a
 * weak-CAS loop: load relaxed (the CAS re-validates the value), compute,
 * then publish with the caller's ordering on success.  On failure the CAS
 * reloads `cur` with a relaxed read: nothing is published by a failed
 * attempt, and the loop only needs the fresh value.  Like the native
 * RMW operations, the loop always writes, so it reads the latest value in
 * the modification order even when the result is unchanged.
 */
#define PC_CAS_LOOP_STEP(mo)                                                      \
    done = atomic_compare_exchange_weak_explicit(&a->value, &cur, next, mo,       \
                                                 memory_order_relaxed);           \
    break
#define PC_DEFINE_CAS_LOOP_OP(name, T, op, COMPUTE)                               \
    T pc_atomic_##name##_fetch_##op(pc_atomic_##name##_t *a, T v, int order)      \
    {                                                                             \
        T cur = atomic_load_explicit(&a->value, memory_order_relaxed);            \
        for (;;) {                                                                \
            T next = COMPUTE(cur, v);                                             \
            bool done;                                                            \
            PC_ON_RMW_ORDER(order, PC_CAS_LOOP_STEP)                              \
            if (done)                                                             \
                return cur;                                                       \
        }                                                                         \
    }

#define PC_NAND(a, b) (~((a) & (b)))
#define PC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define PC_MIN(a, b) ((a) < (b) ? (a) : (b))

/* Integer cells.  Signed overflow in atomic_fetch_add/sub is defined by
 * C11 (7.17.7.5: two's complement, silent wrap-around). */
#define PC_DEFINE_INT(name, T)                                                    \
    T pc_atomic_##name##_load(pc_atomic_##name##_t *a, int order)                 \
    {                                                                             \
        PC_ON_LOAD_ORDER(order, PC_RETURN_LOAD)                                   \
    }                                                                             \
    void pc_atomic_##name##_store(pc_atomic_##name##_t *a, T v, int order)        \
    {                                                                             \
        PC_ON_STORE_ORDER(order, PC_DO_STORE)                                     \
    }                                                                             \
    T pc_atomic_##name##_swap(pc_atomic_##name##_t *a, T v, int order)            \
    {                                                                             \
        PC_ON_RMW_ORDER(order, PC_RETURN_SWAP)                                    \
    }                                                                             \
    T pc_atomic_##name##_fetch_add(pc_atomic_##name##_t *a, T v, int order)       \
    {                                                                             \
        PC_ON_RMW_ORDER(order, PC_RETURN_ADD)                                     \
    }                                                                             \
    T pc_atomic_##name##_fetch_sub(pc_atomic_##name##_t *a, T v, int order)       \
    {                                                                             \
        PC_ON_RMW_ORDER(order, PC_RETURN_SUB)                                     \
    }                                                                             \
    T pc_atomic_##name##_fetch_and(pc_atomic_##name##_t *a, T v, int order)       \
    {                                                                             \
        PC_ON_RMW_ORDER(order, PC_RETURN_AND)                                     \
    }                                                                             \
    T pc_atomic_##name##_fetch_or(pc_atomic_##name##_t *a, T v, int order)        \
    {                                                                             \
        PC_ON_RMW_ORDER(order, PC_RETURN_OR)                                      \
    }                                                                             \
    T pc_atomic_##name##_fetch_xor(pc_atomic_##name##_t *a, T v, int order)       \
    {                                                                             \
        PC_ON_RMW_ORDER(order, PC_RETURN_XOR)                                     \
    }                                                                             \
    PC_DEFINE_CAS_LOOP_OP(name, T, nand, PC_NAND)                                 \
    PC_DEFINE_CAS_LOOP_OP(name, T, max, PC_MAX)                                   \
    PC_DEFINE_CAS_LOOP_OP(name, T, min, PC_MIN)                                   \
    T pc_atomic_##name##_compare_exchange(pc_atomic_##name##_t *a, T expected,    \
                                          T desired, int success, int failure)    \
    {                                                                             \
        /* on failure C11 writes the current value into `expected` */            \
        PC_ON_CAS_ORDER(success, failure, PC_RETURN_CAS_STRONG)                   \
    }                                                                             \
    pc_cas_##name##_t pc_atomic_##name##_compare_exchange_weak(                   \
        pc_atomic_##name##_t *a, T expected, T desired, int success, int failure) \
    {                                                                             \
        pc_cas_##name##_t r;                                                      \
        PC_ON_CAS_ORDER(success, failure, PC_RETURN_CAS_WEAK)                     \
    }

/* The per-ordering bodies used by the dispatchers above. */
#define PC_RETURN_LOAD(mo) return atomic_load_explicit(&a->value, mo)
#define PC_DO_STORE(mo) atomic_store_explicit(&a->value, v, mo); return
#define PC_RETURN_SWAP(mo) return atomic_exchange_explicit(&a->value, v, mo)
#define PC_RETURN_ADD(mo) return atomic_fetch_add_explicit(&a->value, v, mo)
#define PC_RETURN_SUB(mo) return atomic_fetch_sub_explicit(&a->value, v, mo)
#define PC_RETURN_AND(mo) return atomic_fetch_and_explicit(&a->value, v, mo)
#define PC_RETURN_OR(mo) return atomic_fetch_or_explicit(&a->value, v, mo)
#define PC_RETURN_XOR(mo) return atomic_fetch_xor_explicit(&a->value, v, mo)
#define PC_RETURN_CAS_STRONG(s, f)                                                \
    atomic_compare_exchange_strong_explicit(&a->value, &expected, desired, s, f); \
    return expected
#define PC_RETURN_CAS_WEAK(s, f)                                                  \
    r.ok = atomic_compare_exchange_weak_explicit(&a->value, &expected, desired,   \
                                                 s, f);                           \
    r.previous = expected;                                                        \
    return r

PC_DEFINE_INT(i64, int64_t)
PC_DEFINE_INT(u64, uint64_t)

/* Booleans: stored as 0/1 in a 64-bit word, so every operation is the
 * integer one on {0, 1}; nand is !(a && b), i.e. (a & b) ^ 1. */
#define PC_BNAND(a, b) (((a) & (b)) ^ 1u)
typedef uint64_t pc_bool_word;
typedef pc_atomic_bool_t pc_atomic_boolw_t;
PC_DEFINE_CAS_LOOP_OP(boolw, pc_bool_word, nand, PC_BNAND)

bool pc_atomic_bool_load(pc_atomic_bool_t *a, int order)
{
    PC_ON_LOAD_ORDER(order, PC_RETURN_LOAD)
}

void pc_atomic_bool_store(pc_atomic_bool_t *a, bool b, int order)
{
    uint64_t v = b;
    PC_ON_STORE_ORDER(order, PC_DO_STORE)
}

bool pc_atomic_bool_swap(pc_atomic_bool_t *a, bool b, int order)
{
    uint64_t v = b;
    PC_ON_RMW_ORDER(order, PC_RETURN_SWAP)
}

bool pc_atomic_bool_fetch_and(pc_atomic_bool_t *a, bool b, int order)
{
    uint64_t v = b;
    PC_ON_RMW_ORDER(order, PC_RETURN_AND)
}

bool pc_atomic_bool_fetch_or(pc_atomic_bool_t *a, bool b, int order)
{
    uint64_t v = b;
    PC_ON_RMW_ORDER(order, PC_RETURN_OR)
}

bool pc_atomic_bool_fetch_xor(pc_atomic_bool_t *a, bool b, int order)
{
    uint64_t v = b;
    PC_ON_RMW_ORDER(order, PC_RETURN_XOR)
}

bool pc_atomic_bool_fetch_nand(pc_atomic_bool_t *a, bool b, int order)
{
    return pc_atomic_boolw_fetch_nand(a, b, order) != 0;
}

bool pc_atomic_bool_compare_exchange(pc_atomic_bool_t *a, bool e, bool d,
                                     int success, int failure)
{
    uint64_t expected = e, desired = d;
    PC_ON_CAS_ORDER(success, failure, PC_RETURN_CAS_STRONG)
}

pc_cas_bool_t pc_atomic_bool_compare_exchange_weak(pc_atomic_bool_t *a, bool e,
                                                   bool d, int success,
                                                   int failure)
{
    uint64_t expected = e, desired = d;
    pc_cas_bool_t r;
#undef PC_RETURN_CAS_WEAK
#define PC_RETURN_CAS_WEAK(s, f)                                                  \
    r.ok = atomic_compare_exchange_weak_explicit(&a->value, &expected, desired,   \
                                                 s, f);                           \
    r.previous = expected != 0;                                                   \
    return r
    PC_ON_CAS_ORDER(success, failure, PC_RETURN_CAS_WEAK)
}

void pc_atomic_fence(int order)
{
    /* A relaxed fence is a no-op in C11; the Python layer rejects it, as
     * Rust's fence(Relaxed) panics.  Here it falls through to seq_cst. */
#define PC_DO_FENCE(mo) atomic_thread_fence(mo); return
    switch (order) {
    case PC_ACQUIRE: PC_DO_FENCE(memory_order_acquire);
    case PC_RELEASE: PC_DO_FENCE(memory_order_release);
    case PC_ACQ_REL: PC_DO_FENCE(memory_order_acq_rel);
    default: PC_DO_FENCE(memory_order_seq_cst);
    }
}
