/*
 * validate_async_lock.c - the asyncio side of pc_mutex.h without Python:
 * Mutex.lock_async's protocol (pyconc/_async.py's wait_for over
 * pc_mutex_trylock_async), with a thread as the event loop, against
 * threads taking the same mutex with pc_mutex_lock_timed.
 *
 * THREADS threads each lock, increment a plain counter and unlock.  The
 * loop thread runs COROUTINES pseudo-coroutines: each tries the lock
 * (pc_mutex_trylock_async); when it is held, arms a record in the mutex's
 * list (made on first use), tries again (the Dekker re-check), and sleeps;
 * a coroutine holding the lock keeps it across a turn of the loop (a lock
 * held across an await).  Some armed coroutines are cancelled at random:
 * disarmed, passing a wake-up they were fired with on (pc_mutex_async_chain).
 * The loop sleeps on its hub's wake-up pair (wake.h: a pipe, or sockets on
 * Windows).  Checks: the plain counter
 * (mutual exclusion; ThreadSanitizer sees a race if it fails), every
 * acquisition counted, and no lost wake-up (a poll() that times out while
 * a coroutine waits and the lock is free fails).
 */
#include "harness.h"
#include "wake.h"

#define THREADS 2
#define COROUTINES 6
#define SLICE_NS 10000000 /* 10 ms */

static pc_mutex_t mutex;
static long counter; /* plain: protected by the mutex */
static long per_thread, per_coroutine;
static pc_async_hub_t hub;
static intptr_t wake_rd, wake_wr; /* the hub's wake-up pair (wake.h) */

enum { IDLE, ARMED, FIRED_OUT, HOLDING };

struct coro {
    pc_async_rec_t rec;
    int state;
    long left;
};

static struct coro coros[COROUTINES];

static void thread_body(void)
{
    for (long i = 0; i < per_thread; i++) {
        if (pc_mutex_trylock(&mutex) == PC_MUTEX_BUSY)
            while (pc_mutex_lock_timed(&mutex, SLICE_NS) == PC_MUTEX_BUSY)
                ;
        counter++;
        (void)pc_mutex_unlock(&mutex, false);
    }
}

/* A coroutine's attempt: true if it now holds the lock. */
static bool coro_try(struct coro *c)
{
    if (pc_mutex_trylock_async(&mutex) == PC_MUTEX_BUSY)
        return false;
    c->state = HOLDING;
    counter++;
    return true;
}

static void loop_body(unsigned seed)
{
    pc_async_list_t *list = pc_async_list_get(&mutex.async);
    int live = COROUTINES;
    PC_CHECK(list != NULL, "no memory for the list");
    while (live > 0) {
        bool all_asleep = true;
        for (int k = 0; k < COROUTINES; k++) {
            struct coro *c = &coros[k];
            if (c->left == 0)
                continue;
            if (c->state == HOLDING) {
                /* The block ends one turn after it began: the lock was
                 * held across an await. */
                (void)pc_mutex_unlock(&mutex, false);
                c->state = IDLE;
                if (--c->left == 0)
                    live--;
                all_asleep = false;
                continue;
            }
            if (c->state != IDLE)
                continue;
            if (coro_try(c)) {
                all_asleep = false;
                continue;
            }
            /* Arm, then the re-try that marks the lock CONTENDED. */
            pc_async_list_add(list, &c->rec);
            c->state = ARMED;
            seed = seed * 1103515245u + 12345u;
            if (coro_try(c) || (seed >> 16) % 7 == 0) {
                bool held = c->state == HOLDING;
                if (!pc_async_list_remove(list, &c->rec)) {
                    /* Fired meanwhile: the drain gives the record back. */
                    if (!held)
                        pc_mutex_async_chain(&mutex); /* a cancel: pass it on */
                    if (held) {
                        /* Keep holding; the record comes back in the drain. */
                        c->state = HOLDING | 0x10;
                    } else {
                        c->state = FIRED_OUT;
                    }
                } else if (!held) {
                    c->state = IDLE; /* cancelled before any wake-up */
                }
                all_asleep = false;
            }
        }
        if (live == 0)
            break;
        if (!all_asleep)
            continue;
        {
            int n = pc_wake_wait(wake_rd, 10000);
            PC_CHECK(n == 1, "a lost wake-up: %u coroutines waiting, lock state %u",
                     pc_async_waiting(list),
                     (unsigned)atomic_load_explicit(&mutex.lock.state, memory_order_relaxed));
        }
        pc_async_fd_drain(PC_WAKE_KIND, wake_rd);
        for (pc_async_rec_t *r = pc_async_hub_take(&hub); r != NULL; r = r->ready_next) {
            struct coro *c = (struct coro *)r->owner;
            if (c->state == (HOLDING | 0x10)) {
                c->state = HOLDING;
                continue;
            }
            PC_CHECK(c->state == ARMED || c->state == FIRED_OUT, "fired while not armed");
            c->state = IDLE;
        }
    }
}

static void body(int thread, void *arg)
{
    (void)arg;
    if (thread < THREADS)
        thread_body();
    else
        loop_body(4242u);
}

int main(void)
{
    pc_watchdog("validate_async_lock: hung (a lost wake-up?)\n", 600);
    pc_wake_pair(&wake_rd, &wake_wr);
    pc_async_hub_init(&hub, PC_WAKE_KIND, wake_wr);
    pc_mutex_init(&mutex);
    per_thread = pc_scaled(200000);
    per_coroutine = pc_scaled(20000);
    for (int k = 0; k < COROUTINES; k++) {
        coros[k] = (struct coro){{0}, IDLE, per_coroutine};
        coros[k].rec.owner = &coros[k];
        coros[k].rec.hub = &hub;
    }
    pc_run_threads(THREADS + 1, body, NULL);
    PC_CHECK(counter == THREADS * per_thread + COROUTINES * per_coroutine,
             "counter %ld, expected %ld", counter,
             THREADS * per_thread + COROUTINES * per_coroutine);
    PC_CHECK(pc_async_waiting(pc_async_list_peek(&mutex.async)) == 0,
             "records left registered");
    pc_mutex_destroy(&mutex);
    printf("validate_async_lock: OK (%d threads x %ld, %d coroutines x %ld)\n", THREADS,
           per_thread, COROUTINES, per_coroutine);
    return 0;
}
