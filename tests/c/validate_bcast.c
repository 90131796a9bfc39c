/*
 * validate_bcast.c - pc_bcast, the core of pyconc.broadcast (tokio's
 * broadcast channel: the senders' lock, tail, counts and the receivers'
 * futex word; the ring itself lives in Python).
 *
 * Here the ring is a C array of atomic slots, each holding pos + 1 as the
 * Python ring holds (pos, value) pairs.  SENDERS senders (the first sender
 * and its clones) store slots under the senders' lock, by trylock or timed
 * lock; RECEIVERS receivers each read every position in order, waiting
 * with the prepare / wait / unprepare protocol, and jump ahead when they
 * lag (one of them is slowed down on purpose).  Checks: positions are
 * handed out exactly once and in order; a receiver never sees a value
 * before its tail says so; every receiver's received + missed equals the
 * total sent; the last sender's drop closes the channel and every receiver
 * gets to the end; no long wait ends without a change (a lost wake-up).
 */
#include "harness.h"

#define SENDERS 3
#define RECEIVERS 4
#define CAP 8
#define LONG_SLICE 5000000000LL /* 5 s */

static pc_bcast_t bc;
static _Atomic uint64_t ring[CAP]; /* pos + 1 of the value stored there; 0: none */
static long per_sender;
static uint8_t *pos_used; /* plain: written under the senders' lock */
static long got[RECEIVERS], missed[RECEIVERS];
static _Atomic long lost_wakeups, lags, busy;

static void sender(int s)
{
    for (long i = 0; i < per_sender; i++) {
        int64_t pos;
        if ((s + i) % 2 == 0) {
            while ((pos = pc_bcast_send_begin(&bc)) == PC_BCAST_BUSY) {
                atomic_fetch_add_explicit(&busy, 1, memory_order_relaxed);
                pc_thread_yield();
            }
        } else {
            while ((pos = pc_bcast_send_lock(&bc, 20000)) == PC_BCAST_BUSY)
                atomic_fetch_add_explicit(&busy, 1, memory_order_relaxed);
        }
        PC_CHECK(pos >= 0, "send refused: %lld", (long long)pos);
        PC_CHECK(pos < SENDERS * per_sender && !pos_used[pos], "position %lld handed out twice",
                 (long long)pos);
        pos_used[pos] = 1;
        /* relaxed: published by send_end's release of the tail. */
        atomic_store_explicit(&ring[pos % CAP], (uint64_t)pos + 1, memory_order_relaxed);
        int64_t n = pc_bcast_send_end(&bc, (uint64_t)pos);
        PC_CHECK(n == RECEIVERS, "send_end counted %lld receivers", (long long)n);
    }
    pc_bcast_drop_sender(&bc);
}

static void receiver(int r)
{
    uint64_t pos = 0;
    for (;;) {
        uint64_t tail = pc_bcast_tail(&bc);
        if (pos < tail) {
            /* relaxed: the tail's acquire ordered the slot's store. */
            uint64_t v = atomic_load_explicit(&ring[pos % CAP], memory_order_relaxed);
            PC_CHECK(v >= pos + 1, "receiver %d: slot of %llu holds %llu, older than the tail "
                     "%llu says", r, (unsigned long long)pos, (unsigned long long)v,
                     (unsigned long long)tail);
            if (v == pos + 1) {
                got[r]++;
                pos++;
            } else {
                /* Lagged: the slot was overwritten; continue from the
                 * oldest value still held, as tokio does.  The tail read
                 * above may predate the overwrite: wait until it covers
                 * the value found (its sender is between store and end). */
                while ((tail = pc_bcast_tail(&bc)) < v)
                    pc_cpu_relax();
                uint64_t next = tail - CAP;
                PC_CHECK(next > pos, "receiver %d lagged at %llu but next is %llu", r,
                         (unsigned long long)pos, (unsigned long long)next);
                missed[r] += (long)(next - pos);
                pos = next;
                atomic_fetch_add_explicit(&lags, 1, memory_order_relaxed);
            }
            if (r == 0 && pos % 64 == 0)
                pc_thread_yield(); /* the slow one: it lags */
            continue;
        }
        if (pc_bcast_is_closed(&bc) && pos >= pc_bcast_tail(&bc))
            break;
        uint32_t seen = pc_bcast_prepare(&bc, false);
        if (pc_bcast_tail(&bc) != pos || pc_bcast_is_closed(&bc)) {
            pc_bcast_unprepare(&bc, false);
            continue;
        }
        if (pc_bcast_wait(&bc, seen, LONG_SLICE) == PC_BCAST_PENDING) {
            atomic_fetch_add_explicit(&lost_wakeups, 1, memory_order_relaxed);
            pc_bcast_unprepare(&bc, false);
        }
    }
}

static void body(int t, void *arg)
{
    (void)arg;
    if (t < SENDERS)
        sender(t);
    else
        receiver(t - SENDERS);
}

int main(void)
{
    per_sender = pc_scaled(30000);
    long total = SENDERS * per_sender;
    pos_used = calloc((size_t)total, 1);
    PC_CHECK(pos_used != NULL, "out of memory");
    pc_bcast_init(&bc);
    for (int s = 1; s < SENDERS; s++)
        PC_CHECK(pc_bcast_add_sender(&bc), "add_sender");
    for (int r = 1; r < RECEIVERS; r++)
        PC_CHECK(pc_bcast_subscribe(&bc) == 0, "subscribe");
    pc_run_threads(SENDERS + RECEIVERS, body, NULL);

    PC_CHECK(pc_bcast_tail(&bc) == (uint64_t)total, "tail %llu, want %ld",
             (unsigned long long)pc_bcast_tail(&bc), total);
    for (long p = 0; p < total; p++)
        PC_CHECK(pos_used[p], "position %ld never handed out", p);
    for (int r = 0; r < RECEIVERS; r++)
        PC_CHECK(got[r] + missed[r] == total, "receiver %d: %ld received + %ld missed != %ld", r,
                 got[r], missed[r], total);
    PC_CHECK(atomic_load(&lost_wakeups) == 0, "%ld waits ended without a change",
             (long)atomic_load(&lost_wakeups));
    PC_CHECK(atomic_load(&bc.waiters) == 0, "waiters left registered: %u",
             atomic_load(&bc.waiters));
    PC_CHECK(pc_bcast_is_closed(&bc) && !pc_bcast_add_sender(&bc), "a closed channel reopened");

    /* Without receivers a send is refused and the lock left free. */
    for (int r = 0; r < RECEIVERS; r++)
        pc_bcast_unsubscribe(&bc);
    PC_CHECK(pc_bcast_send_begin(&bc) == PC_BCAST_NO_RECEIVERS, "a send without receivers");
    PC_CHECK(pc_bcast_send_lock(&bc, 1000) == PC_BCAST_NO_RECEIVERS, "a timed send without receivers");

    long min_got = got[0];
    for (int r = 1; r < RECEIVERS; r++)
        if (got[r] < min_got)
            min_got = got[r];
    printf("validate_bcast: OK (%d senders x %ld, %d receivers, capacity %d: %ld lags, "
           "fewest received %ld, %ld busy lock attempts)\n",
           SENDERS, per_sender, RECEIVERS, CAP, (long)atomic_load(&lags), min_got,
           (long)atomic_load(&busy));
    free(pos_used);
    return 0;
}
