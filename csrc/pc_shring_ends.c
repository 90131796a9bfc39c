/*
 * pc_shring_ends.c - who holds the ends of a pc_shring (pc_shring.h): the
 * registry of producer processes (one slot per process, with its count of
 * Sender handles, reused once its process is dead) and the receiving
 * process (its pid, the close flag, liveness), with the ring's counters.
 */
#include "pc_shring.h"
#include "pc_shring_cells.h"

#include "pc_park.h"

/* ------------------------------------------------------------ slots */

/* A position past every record claimed so far: the tail hint, moved past
 * any claimed record it still points at. */
static uint64_t pc_shring_past_claims(pc_shring_t *r)
{
    for (;;) {
        /* acquire: a claimed record's length is valid for helping. */
        uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        uint64_t c = atomic_load_explicit(pc_shring_ctrl_at(r, t), memory_order_acquire);
        if (!(pc_shring_is_for(c, t) && pc_shring_state(c) >= PC_SHRING_S_RESERVED))
            return t;
        /* relaxed: a hint (as the producers' helping). */
        atomic_compare_exchange_strong_explicit(&r->tail, &t, t + pc_shring_n(c),
                                                memory_order_relaxed, memory_order_relaxed);
    }
}

int pc_shring_register(pc_shring_t *r, uint32_t pid)
{
    int i;
    /* This process already has a slot: one more handle there. */
    for (i = 0; i < PC_SHRING_SLOTS; i++) {
        /* relaxed: only our own process ever stores our pid. */
        if (atomic_load_explicit(&r->slots[i].pid, memory_order_relaxed) == pid) {
            /* relaxed: a count; the consumer reads it with acquire and
             * re-checks the ring afterwards. */
            atomic_fetch_add_explicit(&r->slots[i].handles, 1, memory_order_relaxed);
            /* relaxed: as the slot's count. */
            atomic_fetch_add_explicit(&r->handles_total, 1, memory_order_relaxed);
            return i;
        }
    }
    /* A free slot, else one of a dead process (whatever it was doing: a
     * send it left half done is told apart by `since`). */
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0; i < PC_SHRING_SLOTS; i++) {
            pc_shring_slot_t *s = &r->slots[i];
            /* relaxed: validated by the CAS. */
            uint32_t old = atomic_load_explicit(&s->pid, memory_order_relaxed);
            if (pass == 0 ? old != 0 : (old == 0 || pc_ipc_pid_alive(old)))
                continue;
            /* acq_rel: publish our handle with the pid; a loser re-scans. */
            if (atomic_compare_exchange_strong_explicit(
                    &s->pid, &old, pid, memory_order_acq_rel, memory_order_relaxed)) {
                /* The dead process's leftover handles go, ours comes.
                 * relaxed: counts, read with acquire by the consumer,
                 * which re-checks the ring. */
                uint32_t stale = atomic_exchange_explicit(&s->handles, 1,
                                                          memory_order_relaxed);
                atomic_fetch_add_explicit(&r->handles_total, 1, memory_order_relaxed);
                atomic_fetch_sub_explicit(&r->handles_total, stale, memory_order_relaxed);
                /* release: a consumer that reads this also sees our pid;
                 * our own claims, made after this, all lie at or above. */
                atomic_store_explicit(&s->since, pc_shring_past_claims(r),
                                      memory_order_release);
                return i;
            }
        }
    }
    return -1;
}

bool pc_shring_handles_add(pc_shring_t *r, int slot, uint32_t pid, int delta)
{
    pc_shring_slot_t *s;
    if (slot < 0 || slot >= PC_SHRING_SLOTS)
        return false;
    s = &r->slots[slot];
    /* relaxed: a slot never changes hands while its process lives. */
    if (atomic_load_explicit(&s->pid, memory_order_relaxed) != pid)
        return false;
    if (delta > 0) {
        /* relaxed: counts; see pc_shring_register. */
        atomic_fetch_add_explicit(&s->handles, (uint32_t)delta, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->handles_total, (uint32_t)delta, memory_order_relaxed);
    } else {
        /* release: the sends made through the handle happen before the
         * consumer sees it gone (it reads the counts with acquire). */
        atomic_fetch_sub_explicit(&s->handles, (uint32_t)-delta, memory_order_release);
        if (atomic_fetch_sub_explicit(&r->handles_total, (uint32_t)-delta,
                                      memory_order_release) == (uint32_t)-delta) {
            /* The last handle: wake a consumer waiting for records.
             * release: it sees the count after waking. */
            atomic_fetch_add_explicit(&r->rx_futex, 1, memory_order_release);
            pc_park_wake_one(&r->rx_futex, true);
        }
    }
    return true;
}

uint32_t pc_shring_senders(pc_shring_t *r, bool alive)
{
    uint32_t total = 0;
    if (!alive)
        /* acquire: pairs with the release decrement of handles_add, so a
         * zero count means the last send is visible to us. */
        return atomic_load_explicit(&r->handles_total, memory_order_acquire);
    for (int i = 0; i < PC_SHRING_SLOTS; i++) {
        pc_shring_slot_t *s = &r->slots[i];
        /* acquire: pairs with the release decrement of handles_add, so a
         * zero count means the last send is visible to us. */
        uint32_t h = atomic_load_explicit(&s->handles, memory_order_acquire);
        uint32_t pid;
        if (h == 0)
            continue;
        /* relaxed: the pid only names a process to check. */
        pid = atomic_load_explicit(&s->pid, memory_order_relaxed);
        if (pid == 0 || !pc_ipc_pid_alive(pid))
            continue;
        total += h;
    }
    return total;
}

/* -------------------------------------------------------- receiver */

void pc_shring_set_receiver(pc_shring_t *r, uint32_t pid)
{
    /* release: whatever we did before taking the receive side is visible
     * to producers that check it. */
    atomic_store_explicit(&r->rx_pid, pid, memory_order_release);
}

uint32_t pc_shring_receiver(pc_shring_t *r)
{
    /* acquire: pairs with set_receiver. */
    return atomic_load_explicit(&r->rx_pid, memory_order_acquire);
}

void pc_shring_close_receiver(pc_shring_t *r)
{
    /* release: nothing to publish but the flag; producers read it relaxed
     * as a hint and re-check it after waking. */
    atomic_store_explicit(&r->rx_closed, 1, memory_order_release);
    /* release: waiters that see the new counts see the flag.  Producers
     * waiting for room, and receiving threads of this process (which then
     * find their Receiver closed). */
    atomic_fetch_add_explicit(&r->tx_futex, 1, memory_order_release);
    pc_park_wake_all(&r->tx_futex, true);
    atomic_fetch_add_explicit(&r->rx_futex, 1, memory_order_release);
    pc_park_wake_all(&r->rx_futex, true);
}

bool pc_shring_receiver_gone(pc_shring_t *r, bool check_alive)
{
    /* acquire: pairs with close_receiver's release. */
    if (atomic_load_explicit(&r->rx_closed, memory_order_acquire))
        return true;
    return check_alive &&
           !pc_ipc_pid_alive(atomic_load_explicit(&r->rx_pid, memory_order_acquire));
}

void pc_shring_stats(pc_shring_t *r, uint64_t *out)
{
    /* relaxed: statistics and snapshots. */
    out[0] = atomic_load_explicit(&r->skipped_records, memory_order_relaxed);
    out[1] = atomic_load_explicit(&r->skipped_bytes, memory_order_relaxed);
    out[2] = atomic_load_explicit(&r->head, memory_order_relaxed);
    out[3] = atomic_load_explicit(&r->tail, memory_order_relaxed);
}
