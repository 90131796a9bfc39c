/*
 * pc_backoff.h - exponential backoff for spin loops.
 *
 * Two verbs, after crossbeam-utils' Backoff:
 *   pc_backoff_spin    after a failed CAS: the line is contended, back off
 *                      for an exponentially growing number of pause hints;
 *   pc_backoff_snooze  while waiting for another thread to make progress:
 *                      spin a few rounds, then yield the time slice;
 * and a signal, pc_backoff_is_completed, that the waiter has spun and
 * yielded long enough and should now park in the kernel instead.
 */
#ifndef PC_BACKOFF_H
#define PC_BACKOFF_H

#include "pc_config.h"

/* Up to 2^6 = 64 pause hints per round (a few hundred ns on x86). */
#define PC_BACKOFF_SPIN_LIMIT 6
/* Then four rounds of yielding before is_completed says "park". */
#define PC_BACKOFF_YIELD_LIMIT 10

typedef struct pc_backoff {
    unsigned step;
} pc_backoff_t;

PC_INLINE void pc_backoff_init(pc_backoff_t *b)
{
    b->step = 0;
}

PC_INLINE void pc_backoff_spin(pc_backoff_t *b)
{
    unsigned limit = b->step < PC_BACKOFF_SPIN_LIMIT ? b->step : PC_BACKOFF_SPIN_LIMIT;
    for (unsigned i = 0; i < (1u << limit); i++)
        pc_cpu_relax();
    if (b->step <= PC_BACKOFF_SPIN_LIMIT)
        b->step++;
}

PC_INLINE void pc_backoff_snooze(pc_backoff_t *b)
{
    if (b->step <= PC_BACKOFF_SPIN_LIMIT) {
        for (unsigned i = 0; i < (1u << b->step); i++)
            pc_cpu_relax();
    } else {
        pc_thread_yield();
    }
    if (b->step <= PC_BACKOFF_YIELD_LIMIT)
        b->step++;
}

PC_INLINE bool pc_backoff_is_completed(const pc_backoff_t *b)
{
    return b->step > PC_BACKOFF_YIELD_LIMIT;
}

#endif /* PC_BACKOFF_H */
