/*
 * validate_chan.c - the channel layer without Python: pc_mpsc, pc_ring and
 * pc_chan with their waits.  Producers send tagged values (unbounded,
 * bounded with a tiny ring so that senders park, rendezvous), singly and in
 * batches; one consumer, then several (MPMC: pops under the consumer
 * lock), receive, parking when empty, until the last sender disconnects;
 * then consumers selecting over two channels at once (pc_select.h).
 * Checks: nothing lost or duplicated (every value counted exactly once),
 * each producer's order kept in every consumer's view, no value dropped,
 * and (rendezvous) a retraction racing the receiver gives the value to
 * exactly one side.
 */
#include "harness.h"

#include <stdlib.h>

#define PRODUCERS 4
#define MAX_CONSUMERS 4
#define SLICE_NS 10000000 /* 10 ms */

static pc_chan_t *chan;
static long per_producer;
static int consumers;
static _Atomic long dropped;
static _Atomic long received;
static _Atomic unsigned char *seen; /* PRODUCERS * per_producer flags */

static void drop(void *v)
{
    (void)v;
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
}

#define TAG(p, i) ((void *)(uintptr_t)(((uint64_t)(p) << 40) | (uint64_t)((i) + 1)))

static void send_one(void *v)
{
    uint64_t pos = 0;
    for (;;) {
        int r = pc_chan_trysend(chan, v, &pos);
        if (r == PC_CHAN_OK)
            break;
        PC_CHECK(r == PC_CHAN_FULL, "send failed with %d", r);
        pc_chan_send_wait(chan, -1, SLICE_NS);
    }
    if (chan->kind == PC_CHAN_RENDEZVOUS)
        while (!pc_chan_delivered(chan, pos))
            pc_chan_send_wait(chan, (int64_t)pos, SLICE_NS);
}

static void produce(int p)
{
    long i = 0;
    while (i < per_producer) {
        if (chan->kind != PC_CHAN_RENDEZVOUS && (i / 16) % 2 == 1) {
            /* a batch of up to 16, the rest sent singly when full */
            void *batch[16];
            size_t n = 0, sent = 0;
            while (n < 16 && i + (long)n < per_producer) {
                batch[n] = TAG(p, i + (long)n);
                n++;
            }
            int r = pc_chan_trysend_many(chan, batch, n, &sent);
            PC_CHECK(r == PC_CHAN_OK || r == PC_CHAN_FULL, "send_many failed with %d", r);
            for (size_t k = sent; k < n; k++)
                send_one(batch[k]);
            i += (long)n;
        } else {
            send_one(TAG(p, i));
            i++;
        }
    }
    pc_chan_sender_drop(chan);
    pc_chan_unref(chan);
}

/* Count one value received: exactly once overall, in order for this
 * consumer (last[] is the consumer's own view of each producer). */
static void count_value(void *v, uint64_t *last)
{
    uint64_t x = (uint64_t)(uintptr_t)v;
    unsigned p = (unsigned)(x >> 40);
    uint64_t seq = x & (((uint64_t)1 << 40) - 1);
    PC_CHECK(p < PRODUCERS && seq >= 1 && seq <= (uint64_t)per_producer,
             "a value from nowhere: %#llx", (unsigned long long)x);
    PC_CHECK(seq > last[p], "producer %u: %llu after %llu in one consumer's view "
             "(reordered or duplicated)", p, (unsigned long long)seq,
             (unsigned long long)last[p]);
    last[p] = seq;
    /* relaxed: a flag per value; the final count is read after the join. */
    PC_CHECK(atomic_fetch_add_explicit(&seen[p * per_producer + (long)seq - 1], 1,
                                       memory_order_relaxed) == 0,
             "producer %u value %llu received twice", p, (unsigned long long)seq);
    atomic_fetch_add_explicit(&received, 1, memory_order_relaxed);
}

static void consume(void)
{
    uint64_t last[PRODUCERS] = {0};
    long k = 0;
    for (;;) {
        void *buf[8];
        int status;
        pc_chan_rx_lock(chan);
        size_t n = pc_chan_trypop_many(chan, buf, (size_t)(k++ % 8) + 1, &status);
        pc_chan_rx_unlock(chan);
        if (n == 0) {
            if (status == PC_CHAN_DISCONNECTED)
                break;
            PC_CHECK(status == PC_CHAN_EMPTY, "pop failed with %d", status);
            pc_chan_recv_wait(chan, SLICE_NS);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            count_value(buf[i], last);
    }
}

static void body(int t, void *arg)
{
    (void)arg;
    if (t < consumers)
        consume();
    else
        produce(t - consumers);
}

static void reset(long n)
{
    per_producer = n;
    atomic_store(&received, 0);
    free((void *)seen);
    seen = calloc((size_t)(PRODUCERS * n), 1);
    PC_CHECK(seen != NULL, "out of memory");
}

static void run(int kind, uint64_t cap, long n, int nconsumers)
{
    reset(n);
    consumers = nconsumers;
    chan = pc_chan_new(kind, cap, drop);
    PC_CHECK(chan != NULL, "pc_chan_new failed");
    for (int p = 1; p < PRODUCERS; p++)
        pc_chan_sender_add(chan);
    for (int c = 1; c < consumers; c++)
        pc_chan_receiver_add(chan);
    pc_run_threads(PRODUCERS + consumers, body, NULL);
    PC_CHECK(atomic_load(&received) == PRODUCERS * n, "kind %d, %d consumers: received "
             "%ld of %ld", kind, consumers, (long)atomic_load(&received),
             (long)PRODUCERS * n);
    PC_CHECK(atomic_load(&dropped) == 0, "values dropped");
    for (int c = 0; c < consumers; c++) {
        bool last = pc_chan_receiver_drop(chan);
        PC_CHECK(last == (c == consumers - 1), "receiver_drop: the last is wrong");
        pc_chan_unref(chan);
    }
}

/* Select: producers send alternately on two channels (one unbounded, one
 * bounded with two slots, so that senders park too); consumers select
 * over both until both are disconnected. */
static pc_chan_t *sel_chan[2];

static void sel_send(pc_chan_t *c, void *v)
{
    for (;;) {
        int r = pc_chan_trysend(c, v, NULL);
        if (r == PC_CHAN_OK)
            return;
        PC_CHECK(r == PC_CHAN_FULL, "select: send failed with %d", r);
        pc_chan_send_wait(c, -1, SLICE_NS);
    }
}

static void sel_consume(void)
{
    uint64_t last[2][PRODUCERS] = {{0}}; /* order holds per channel */
    bool done[2] = {false, false};
    pc_select_op_t ops[2];
    for (int i = 0; i < 2; i++) {
        ops[i].chan = sel_chan[i];
        ops[i].is_send = false;
    }
    while (!done[0] || !done[1]) {
        size_t start = pc_select_start(2);
        bool got = false;
        for (size_t k = 0; k < 2 && !got; k++) {
            size_t i = (start + k) % 2;
            void *v;
            int r;
            if (done[i])
                continue;
            pc_chan_rx_lock(sel_chan[i]);
            r = pc_chan_trypop(sel_chan[i], &v);
            pc_chan_rx_unlock(sel_chan[i]);
            if (r == PC_CHAN_OK) {
                count_value(v, last[i]);
                got = true;
            } else if (r == PC_CHAN_DISCONNECTED) {
                done[i] = true;
            }
        }
        if (got)
            continue;
        /* Wait on the channels not yet done. */
        if (!done[0] && !done[1])
            pc_select_wait(ops, 2, SLICE_NS);
        else if (!done[0])
            pc_select_wait(&ops[0], 1, SLICE_NS);
        else if (!done[1])
            pc_select_wait(&ops[1], 1, SLICE_NS);
    }
}

static void sel_body(int t, void *arg)
{
    (void)arg;
    if (t < consumers) {
        sel_consume();
        return;
    }
    int p = t - consumers;
    for (long i = 0; i < per_producer; i++)
        sel_send(sel_chan[(i + p) % 2], TAG(p, i));
    for (int c = 0; c < 2; c++) {
        pc_chan_sender_drop(sel_chan[c]);
        pc_chan_unref(sel_chan[c]);
    }
}

static void run_select(long n, int nconsumers)
{
    reset(n);
    consumers = nconsumers;
    sel_chan[0] = pc_chan_new(PC_CHAN_UNBOUNDED, 0, drop);
    sel_chan[1] = pc_chan_new(PC_CHAN_BOUNDED, 2, drop);
    PC_CHECK(sel_chan[0] != NULL && sel_chan[1] != NULL, "pc_chan_new failed");
    for (int c = 0; c < 2; c++) {
        for (int p = 1; p < PRODUCERS; p++)
            pc_chan_sender_add(sel_chan[c]);
        for (int k = 1; k < consumers; k++)
            pc_chan_receiver_add(sel_chan[c]);
    }
    pc_run_threads(PRODUCERS + consumers, sel_body, NULL);
    PC_CHECK(atomic_load(&received) == PRODUCERS * n, "select, %d consumers: received "
             "%ld of %ld", consumers, (long)atomic_load(&received), (long)PRODUCERS * n);
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < consumers; k++) {
            pc_chan_receiver_drop(sel_chan[c]);
            pc_chan_unref(sel_chan[c]);
        }
}

/* Rendezvous: a sender retracts while the receiver pops; exactly one wins. */
static _Atomic long retracted, taken;
static _Atomic uint64_t rdv_pos;
static _Atomic int rdv_round;

static void rdv_body(int t, void *arg)
{
    long rounds = *(long *)arg;
    for (long k = 0; k < rounds; k++) {
        if (t == 0) {
            uint64_t pos = 0;
            while (pc_chan_trysend(chan, TAG(0, k), &pos) != PC_CHAN_OK)
                pc_cpu_relax(); /* the previous round's slot is being freed */
            atomic_store_explicit(&rdv_pos, pos, memory_order_relaxed);
            atomic_store_explicit(&rdv_round, (int)(2 * k + 1), memory_order_release);
            if (pc_chan_retract(chan, pos))
                atomic_fetch_add_explicit(&retracted, 1, memory_order_relaxed);
            while (atomic_load_explicit(&rdv_round, memory_order_acquire) != (int)(2 * k + 2))
                pc_cpu_relax();
        } else {
            void *v;
            while (atomic_load_explicit(&rdv_round, memory_order_acquire) != (int)(2 * k + 1))
                pc_cpu_relax();
            for (int spin = 0; spin < 64; spin++)
                if (pc_chan_trypop(chan, &v) == PC_CHAN_OK) {
                    PC_CHECK(v == TAG(0, k), "rendezvous: a stale value");
                    atomic_fetch_add_explicit(&taken, 1, memory_order_relaxed);
                    break;
                }
            /* Wait until the round's value is gone one way or the other:
             * retracted (head skips it on the next pop) or taken. */
            atomic_store_explicit(&rdv_round, (int)(2 * k + 2), memory_order_release);
        }
    }
}

int main(void)
{
    long n = pc_scaled(50000);
    for (int nc = 1; nc <= MAX_CONSUMERS; nc *= 2) {
        run(PC_CHAN_UNBOUNDED, 0, n / nc, nc);
        run(PC_CHAN_BOUNDED, 3, n / nc, nc);
        run(PC_CHAN_BOUNDED, 1, n / 5 / nc, nc);
        run(PC_CHAN_RENDEZVOUS, 0, n / 25 / nc, nc);
    }
    run_select(n / 4, 1);
    run_select(n / 4, 3);

    long rounds = pc_scaled(20000);
    chan = pc_chan_new(PC_CHAN_RENDEZVOUS, 0, drop);
    PC_CHECK(chan != NULL, "rendezvous setup");
    pc_run_threads(2, rdv_body, &rounds);
    PC_CHECK(atomic_load(&retracted) + atomic_load(&taken) == rounds,
             "rendezvous: %ld retracted + %ld taken != %ld rounds",
             (long)atomic_load(&retracted), (long)atomic_load(&taken), rounds);
    pc_chan_sender_drop(chan);
    pc_chan_unref(chan);
    pc_chan_rx_close(chan);
    pc_chan_unref(chan);

    /* Values left queued are dropped when the channel goes. */
    chan = pc_chan_new(PC_CHAN_UNBOUNDED, 0, drop);
    for (long i = 0; i < 1000; i++)
        PC_CHECK(pc_chan_trysend(chan, TAG(0, i), NULL) == PC_CHAN_OK, "send");
    pc_chan_sender_drop(chan);
    pc_chan_unref(chan);
    pc_chan_rx_close(chan);
    pc_chan_unref(chan);
    PC_CHECK(atomic_load(&dropped) == 1000, "dropped %ld of 1000", (long)atomic_load(&dropped));

    free((void *)seen);
    printf("validate_chan: OK (%d producers x %ld values per kind, 1, 2 and 4 "
           "consumers; select over two channels, 1 and 3 consumers; rendezvous "
           "retract race: %ld retracted, %ld taken)\n",
           PRODUCERS, n, (long)atomic_load(&retracted), (long)atomic_load(&taken));
    return 0;
}
