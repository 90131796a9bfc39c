/*
 * pc_sem.c - see pc_sem.h.
 */
#include "pc_sem.h"

#include "pc_handoff.h"
#include "pc_park.h"

void pc_sem_init(pc_sem_t *s, uint64_t permits)
{
    /* relaxed: before the semaphore is shared. */
    atomic_store_explicit(&s->permits, permits, memory_order_relaxed);
    atomic_store_explicit(&s->epoch, 0, memory_order_relaxed);
    atomic_store_explicit(&s->waiters, 0, memory_order_relaxed);
    atomic_store_explicit(&s->async, NULL, memory_order_relaxed);
}

void pc_sem_destroy(pc_sem_t *s)
{
    pc_async_list_free(&s->async);
}

/* Could n permits be taken now (or is it closed)?  relaxed: a hint for
 * the spin window; the CAS decides. */
static inline bool pc_sem_ready(pc_sem_t *s, uint64_t n)
{
    uint64_t p = atomic_load_explicit(&s->permits, memory_order_relaxed);
    return (p & PC_SEM_CLOSED) != 0 || p >= n;
}

int pc_sem_acquire_timed(pc_sem_t *s, uint64_t n, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    int r;
    /* With hand-off on, a spin window before parking (pc_handoff.h). */
    PC_HANDOFF_SPIN_UNTIL(pc_sem_ready(s, n), deadline);
    for (;;) {
        int64_t left;
        /* acquire: a bump seen here was made after its permits were added. */
        uint32_t e = atomic_load_explicit(&s->epoch, memory_order_acquire);
        /* seq_cst: the waiter's half of the Dekker pair (pc_sem.h). */
        atomic_fetch_add_explicit(&s->waiters, 1, memory_order_seq_cst);
        r = pc_sem_try_acquire(s, n);
        if (r == PC_SEM_AGAIN) {
            /* The try's load was relaxed; the Dekker pair needs a seq_cst
             * read of the permits after our count. */
            uint64_t p = atomic_load_explicit(&s->permits, memory_order_seq_cst);
            if ((p & PC_SEM_CLOSED) == 0 && p < n && (left = deadline - pc_now_ns()) > 0)
                (void)pc_park_wait(&s->epoch, e, left, false);
        }
        /* relaxed: only the releasers' wake-up decision reads it. */
        atomic_fetch_sub_explicit(&s->waiters, 1, memory_order_relaxed);
        if (r != PC_SEM_AGAIN)
            return r;
        r = pc_sem_try_acquire(s, n);
        if (r != PC_SEM_AGAIN || deadline - pc_now_ns() <= 0)
            return r;
        /* A spurious wake-up, or others took the permits: wait again (the
         * Python layer's slice ends at the deadline). */
    }
}

static void pc_sem_wake(pc_sem_t *s)
{
    /* seq_cst: the releaser's half of the Dekker pair.  release on the
     * bump: a woken waiter (acquire load of epoch) sees the permits. */
    if (atomic_load_explicit(&s->waiters, memory_order_seq_cst) != 0) {
        atomic_fetch_add_explicit(&s->epoch, 1, memory_order_release);
        pc_park_wake_all(&s->epoch, false);
    }
    /* Coroutines (acquire_async): every one, as every thread, since each
     * may want a different number of permits; one load of the slot while
     * none ever waited, one seq_cst load of the list's count after (the
     * releaser's half of the pair with pc_sem_async_armed). */
    pc_async_slot_notify(&s->async, PC_ASYNC_ALL);
}

int pc_sem_release(pc_sem_t *s, uint64_t n)
{
    /* relaxed: the CAS below decides. */
    uint64_t p = atomic_load_explicit(&s->permits, memory_order_relaxed);
    do {
        if (n > PC_SEM_MAX_PERMITS || (p & ~PC_SEM_CLOSED) > PC_SEM_MAX_PERMITS - n)
            return PC_SEM_OVERFLOW;
        /* seq_cst: publishes the holder's critical section (release) and
         * is the releaser's write in the Dekker pair. */
    } while (!atomic_compare_exchange_weak_explicit(&s->permits, &p, p + n,
                                                    memory_order_seq_cst,
                                                    memory_order_relaxed));
    pc_sem_wake(s);
    return PC_SEM_OK;
}

void pc_sem_close(pc_sem_t *s)
{
    /* seq_cst: as a release, for the Dekker pair with the waiters. */
    atomic_fetch_or_explicit(&s->permits, PC_SEM_CLOSED, memory_order_seq_cst);
    pc_sem_wake(s);
}
