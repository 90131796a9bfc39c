/*
 * pc_handoff.c - spin windows and the GIL hint (pc_handoff.h).
 */
#include "pc_handoff.h"

/* Each word on its own cache line: `enabled` is read by every wait, the
 * hint written by every blocking call, the spinner count by every window;
 * sharing a line would make the readers miss on the writers' stores. */
static PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t pc_handoff_on;
static PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t pc_handoff_gil;
static PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t pc_handoff_spinners;
static PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t pc_handoff_limit;
static PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t pc_handoff_wanted;

/* Pauses between two looks at the clock: about a quarter of a
 * microsecond on x86, so a window notices its condition promptly. */
#define PC_HANDOFF_PAUSES 16
/* Looks for a free spinning slot before parking without a window: a few
 * microseconds in all. */
#define PC_HANDOFF_SLOT_TRIES 16

void pc_handoff_enable(bool on)
{
    /* relaxed: a policy switch; nothing is published with it. */
    atomic_store_explicit(&pc_handoff_on, on ? 1u : 0u, memory_order_relaxed);
}

bool pc_handoff_enabled(void)
{
    /* relaxed: see pc_handoff_enable. */
    return atomic_load_explicit(&pc_handoff_on, memory_order_relaxed) != 0;
}

uint32_t pc_handoff_max_spinners(void)
{
    /* relaxed: every thread computes the same value; a race only makes two
     * of them ask the operating system. */
    uint32_t limit = atomic_load_explicit(&pc_handoff_limit, memory_order_relaxed);
    if (limit == 0) {
        uint32_t cpus = pc_cpu_count();
        limit = cpus > 1 ? cpus - 1 : 0;
        if (limit > PC_HANDOFF_MAX_SPINNERS)
            limit = PC_HANDOFF_MAX_SPINNERS;
        /* Stored plus one, so that 0 keeps meaning "not computed yet". */
        limit += 1;
        atomic_store_explicit(&pc_handoff_limit, limit, memory_order_relaxed);
    }
    return limit - 1;
}

/* Take a spinning slot.  A full house is often about to empty: the usual
 * holder is a thread spinning for the GIL that the caller has just
 * released (pc_handoff_gil_reacquire), and it leaves within a fraction of
 * a microsecond.  So look a few times before giving up. */
static bool pc_handoff_take_slot(void)
{
    uint32_t limit = pc_handoff_max_spinners();
    for (int tries = 0; tries < PC_HANDOFF_SLOT_TRIES; tries++) {
        /* relaxed, all: the count only bounds how many threads burn a CPU;
         * it guards no data. */
        uint32_t n = atomic_load_explicit(&pc_handoff_spinners, memory_order_relaxed);
        while (n < limit)
            if (atomic_compare_exchange_weak_explicit(&pc_handoff_spinners, &n, n + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                return true;
        for (int i = 0; i < PC_HANDOFF_PAUSES; i++)
            pc_cpu_relax();
    }
    return false;
}

bool pc_handoff_spin_begin(pc_handoff_spin_t *s, int64_t deadline)
{
    s->slot = false;
    if (!pc_handoff_enabled() || !pc_handoff_take_slot())
        return false;
    s->slot = true;
    s->end = pc_now_ns() + PC_HANDOFF_SPIN_NS;
    if (deadline < s->end)
        s->end = deadline;
    return true;
}

void pc_handoff_spin_end(pc_handoff_spin_t *s)
{
    if (s->slot) {
        s->slot = false;
        /* relaxed: see pc_handoff_spin_begin. */
        atomic_fetch_sub_explicit(&pc_handoff_spinners, 1, memory_order_relaxed);
    }
}

bool pc_handoff_spin_next(pc_handoff_spin_t *s)
{
    for (int i = 0; i < PC_HANDOFF_PAUSES; i++)
        pc_cpu_relax();
    if (s->slot && pc_now_ns() < s->end)
        return true;
    pc_handoff_spin_end(s);
    return false;
}

/* Spin (one window at most) until the GIL hint reads `value`. */
static void pc_handoff_gil_await(uint32_t value)
{
    /* relaxed: a hint; the GIL itself orders everything that matters. */
    PC_HANDOFF_SPIN_UNTIL(atomic_load_explicit(&pc_handoff_gil, memory_order_relaxed) == value,
                          INT64_MAX);
}

void pc_handoff_gil_released(void)
{
    /* relaxed: the hint (see pc_handoff_gil_await). */
    if (pc_handoff_enabled())
        atomic_store_explicit(&pc_handoff_gil, 1, memory_order_relaxed);
}

void pc_handoff_gil_reacquire(void)
{
    /* relaxed: a count for pc_handoff_gil_wanted, a hint like the rest.
     * Counted whether or not hand-off is on, so that it stays balanced
     * with pc_handoff_gil_taken's decrement if hand-off is switched on or
     * off in between. */
    atomic_fetch_add_explicit(&pc_handoff_wanted, 1, memory_order_relaxed);
    if (pc_handoff_enabled())
        pc_handoff_gil_await(1);
}

void pc_handoff_gil_taken(void)
{
    /* relaxed: see pc_handoff_gil_reacquire. */
    atomic_fetch_sub_explicit(&pc_handoff_wanted, 1, memory_order_relaxed);
    /* relaxed: the hint.  Load first: most of the time it is already
     * clear, and a store would take the line from the spinning readers for
     * nothing. */
    if (pc_handoff_enabled() &&
        atomic_load_explicit(&pc_handoff_gil, memory_order_relaxed) != 0)
        atomic_store_explicit(&pc_handoff_gil, 0, memory_order_relaxed);
}

bool pc_handoff_gil_wanted(void)
{
    /* relaxed: a hint. */
    return pc_handoff_enabled() &&
           atomic_load_explicit(&pc_handoff_wanted, memory_order_relaxed) != 0;
}

void pc_handoff_gil_passed(void)
{
    /* Another thread has taken the GIL once it clears the hint. */
    if (pc_handoff_enabled())
        pc_handoff_gil_await(0);
}
