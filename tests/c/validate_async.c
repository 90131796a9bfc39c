/*
 * validate_async.c - pc_async.h without Python: the asyncio protocol of
 * pyconc/_async.py, with a thread as the event loop.  Producers send
 * tagged values into a channel (unbounded, then bounded with a tiny ring,
 * so that the senders side is exercised too); the loop thread runs
 * COROUTINES pseudo-coroutines that each try a pop and, when the channel
 * is empty, arm a record in the channel's async_rx list, re-check, and
 * sleep; the loop sleeps in poll() on its hub's pipe, then takes the fired
 * records and resumes their coroutines.  Some armed records are disarmed
 * at random (a cancellation), passing their wake-up on when they had been
 * fired.  Checks: every value received exactly once in each producer's
 * order, no wake-up lost (a poll() that times out while values wait
 * fails), and the disconnect wakes every coroutine.
 */
#include "harness.h"

#include "wake.h"

#define PRODUCERS 3
#define COROUTINES 8
#define SLICE_NS 10000000 /* 10 ms */

#define TAG(p, i) ((void *)(uintptr_t)(((uint64_t)(p) << 40) | (uint64_t)((i) + 1)))

static pc_chan_t *chan;
static long per_producer;
static pc_async_hub_t hub;
static intptr_t wake_rd, wake_wr; /* the hub's wake-up pair */

enum { IDLE, ARMED, FIRED_OUT }; /* FIRED_OUT: disarmed too late, on the hub */

struct coro {
    pc_async_rec_t rec;
    int state;
    bool done;
};

static struct coro coros[COROUTINES];

static void produce(int p)
{
    for (long i = 0; i < per_producer; i++) {
        for (;;) {
            int r = pc_chan_trysend(chan, TAG(p, i), NULL);
            if (r == PC_CHAN_OK)
                break;
            PC_CHECK(r == PC_CHAN_FULL, "send failed with %d", r);
            pc_chan_send_wait(chan, -1, SLICE_NS);
        }
    }
    pc_chan_sender_drop(chan);
    pc_chan_unref(chan); /* this sender's reference */
}

/* As pyglue/pc_async_py.h's pc_async_py_rx_ready. */
static bool rx_ready(void)
{
    bool pending = pc_chan_rx_pending(chan);
    /* seq_cst: after the arm's fence. */
    return pending || atomic_load_explicit(&chan->senders, memory_order_seq_cst) == 0;
}

static uint64_t last_seen[PRODUCERS];
static long received;

/* One step of a coroutine: pop what there is (at most a few); true if it
 * took something or is finished (then it runs again before sleeping). */
static bool coro_try(struct coro *c)
{
    void *v;
    int r;
    bool took = false;
    for (;;) {
        pc_chan_rx_lock(chan);
        r = pc_chan_trypop(chan, &v);
        pc_chan_rx_unlock(chan);
        if (r != PC_CHAN_OK)
            break;
        took = true;
        uint64_t x = (uint64_t)(uintptr_t)v, p = x >> 40, seq = x & ((1ull << 40) - 1);
        PC_CHECK(p < PRODUCERS, "a value from nowhere: %#llx", (unsigned long long)x);
        PC_CHECK(seq == last_seen[p] + 1, "producer %llu: %llu after %llu",
                 (unsigned long long)p, (unsigned long long)seq,
                 (unsigned long long)last_seen[p]);
        last_seen[p] = seq;
        received++;
        if (received % 7 == 0)
            return true; /* give the others a turn, as a coroutine would */
    }
    if (r == PC_CHAN_DISCONNECTED)
        c->done = true;
    return took || c->done;
}

static void loop_body(unsigned seed)
{
    int live = COROUTINES;
    /* The one consuming thread: each pop takes the consumer lock (MPMC's
     * pc_chan_rx_lock), as the Python layer does without the GIL. */
    while (live > 0) {
        bool all_asleep = true;
        for (int k = 0; k < COROUTINES; k++) {
            struct coro *c = &coros[k];
            if (c->done || c->state != IDLE)
                continue;
            if (coro_try(c)) {
                if (c->done)
                    live--;
                all_asleep = false;
                continue;
            }
            /* Arm and re-check the queue's producer end (the Dekker
             * pattern, as Receiver._async_arm does: something there and
             * the record fires itself), try again, maybe cancel. */
            pc_async_list_add(&chan->async_rx, &c->rec);
            c->state = ARMED;
            if (rx_ready() && pc_async_list_remove(&chan->async_rx, &c->rec))
                pc_async_hub_fire(&hub, &c->rec);
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 5 == 0 || coro_try(c)) {
                if (!pc_async_list_remove(&chan->async_rx, &c->rec)) {
                    c->state = FIRED_OUT; /* the drain gives it back */
                    (void)pc_async_list_wake(&chan->async_rx, 1); /* pass it on */
                } else {
                    c->state = IDLE;
                }
                if (c->done)
                    live--;
                else
                    all_asleep = false;
                continue;
            }
        }
        if (live == 0)
            break;
        if (!all_asleep)
            continue;
        {
            int n = pc_wake_wait(wake_rd, 10000);
            PC_CHECK(n == 1, "a lost wake-up: %ld received, %ld sent, %u waiting", received,
                     PRODUCERS * per_producer, pc_async_waiting(&chan->async_rx));
        }
        pc_async_fd_drain(PC_WAKE_KIND, wake_rd);
        for (pc_async_rec_t *r = pc_async_hub_take(&hub); r != NULL; r = r->ready_next) {
            struct coro *c = (struct coro *)r->owner;
            PC_CHECK(c->state == ARMED || c->state == FIRED_OUT, "fired while not armed");
            c->state = IDLE;
        }
    }
}

static void body(int thread, void *arg)
{
    (void)arg;
    if (thread < PRODUCERS)
        produce(thread);
    else
        loop_body(12345u);
}

static void run(int kind, uint64_t cap)
{
    chan = pc_chan_new(kind, cap, NULL);
    PC_CHECK(chan != NULL, "pc_chan_new failed");
    for (int p = 1; p < PRODUCERS; p++)
        pc_chan_sender_add(chan);
    for (int k = 0; k < COROUTINES; k++) {
        coros[k] = (struct coro){{0}, IDLE, false};
        coros[k].rec.owner = &coros[k];
        coros[k].rec.hub = &hub;
    }
    for (int p = 0; p < PRODUCERS; p++)
        last_seen[p] = 0;
    received = 0;
    pc_run_threads(PRODUCERS + 1, body, NULL);
    PC_CHECK(received == PRODUCERS * per_producer, "kind %d: received %ld of %ld", kind,
             received, PRODUCERS * per_producer);
    PC_CHECK(pc_async_waiting(&chan->async_rx) == 0, "records left registered");
    pc_chan_rx_close(chan);
    pc_chan_unref(chan); /* the receiver's */
}


int main(void)
{
    pc_wake_pair(&wake_rd, &wake_wr);
    pc_async_hub_init(&hub, PC_WAKE_KIND, wake_wr);
    per_producer = pc_scaled(100000);
    run(PC_CHAN_UNBOUNDED, 0);
    run(PC_CHAN_BOUNDED, 4);
    printf("validate_async: ok (%d producers, %d coroutines, %ld values per run)\n",
           PRODUCERS, COROUTINES, PRODUCERS * per_producer);
    return 0;
}
