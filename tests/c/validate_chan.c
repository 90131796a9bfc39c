/*
 * validate_chan.c - the channel layer without Python: pc_mpsc, pc_ring and
 * pc_chan with their waits.  Producers send tagged values (unbounded,
 * bounded with a tiny ring so that senders park, rendezvous), singly and in
 * batches; one consumer receives, parking when empty, until the last
 * sender disconnects.  Checks: nothing lost or duplicated, each producer's
 * order kept, no value dropped, and (rendezvous) a retraction racing the
 * receiver gives the value to exactly one side.
 */
#include "harness.h"

#define PRODUCERS 4
#define SLICE_NS 10000000 /* 10 ms */

static pc_chan_t *chan;
static long per_producer;
static _Atomic long dropped;
static uint64_t last_seen[PRODUCERS];
static long received;

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

static void consume(void)
{
    PC_CHECK(pc_chan_rx_claim(chan), "claim failed");
    PC_CHECK(!pc_chan_rx_claim(chan), "a second claim succeeded");
    for (;;) {
        void *buf[8];
        int status;
        size_t n = pc_chan_trypop_many(chan, buf, (size_t)(received % 8) + 1, &status);
        if (n == 0) {
            if (status == PC_CHAN_DISCONNECTED)
                break;
            PC_CHECK(status == PC_CHAN_EMPTY, "pop failed with %d", status);
            pc_chan_recv_wait(chan, SLICE_NS);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            uint64_t x = (uint64_t)(uintptr_t)buf[k];
            unsigned p = (unsigned)(x >> 40);
            uint64_t seq = x & (((uint64_t)1 << 40) - 1);
            PC_CHECK(p < PRODUCERS, "a value from nowhere: %#llx", (unsigned long long)x);
            PC_CHECK(seq == last_seen[p] + 1, "producer %u: %llu after %llu (lost, "
                     "duplicated or reordered)", p, (unsigned long long)seq,
                     (unsigned long long)last_seen[p]);
            last_seen[p] = seq;
            received++;
        }
    }
    pc_chan_rx_unclaim(chan);
}

static void body(int t, void *arg)
{
    (void)arg;
    if (t == 0)
        consume();
    else
        produce(t - 1);
}

static void run(int kind, uint64_t cap, long n)
{
    per_producer = n;
    received = 0;
    for (int p = 0; p < PRODUCERS; p++)
        last_seen[p] = 0;
    chan = pc_chan_new(kind, cap, drop);
    PC_CHECK(chan != NULL, "pc_chan_new failed");
    for (int p = 1; p < PRODUCERS; p++)
        pc_chan_sender_add(chan);
    pc_run_threads(PRODUCERS + 1, body, NULL);
    PC_CHECK(received == PRODUCERS * n, "kind %d: received %ld of %ld", kind, received,
             (long)PRODUCERS * n);
    PC_CHECK(atomic_load(&dropped) == 0, "values dropped");
    pc_chan_rx_close(chan);
    pc_chan_unref(chan);
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
    run(PC_CHAN_UNBOUNDED, 0, n);
    run(PC_CHAN_BOUNDED, 3, n);
    run(PC_CHAN_BOUNDED, 1, n / 5);
    run(PC_CHAN_RENDEZVOUS, 0, n / 25);

    long rounds = pc_scaled(20000);
    chan = pc_chan_new(PC_CHAN_RENDEZVOUS, 0, drop);
    PC_CHECK(chan != NULL && pc_chan_rx_claim(chan), "rendezvous setup");
    pc_run_threads(2, rdv_body, &rounds);
    PC_CHECK(atomic_load(&retracted) + atomic_load(&taken) == rounds,
             "rendezvous: %ld retracted + %ld taken != %ld rounds",
             (long)atomic_load(&retracted), (long)atomic_load(&taken), rounds);
    pc_chan_rx_unclaim(chan);
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

    printf("validate_chan: OK (%d producers x %ld values per kind; rendezvous "
           "retract race: %ld retracted, %ld taken)\n",
           PRODUCERS, n, (long)atomic_load(&retracted), (long)atomic_load(&taken));
    return 0;
}
