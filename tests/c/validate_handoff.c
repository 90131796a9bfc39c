/*
 * validate_handoff.c - pc_handoff: spin windows bounded in number and in
 * time, and the GIL hint driven as the cffi wrappers drive it, with a
 * mutex standing in for the GIL: threads taking turns through condvar
 * waits, and a thread yielding the "GIL" to one on its way back.
 */
#include "harness.h"

#define THREADS 8

static long iterations;
static _Atomic uint32_t active, most_active;
static _Atomic long windows, refused;

/* Many threads open windows of random length at once: never more than
 * pc_handoff_max_spinners() are open together, and each closes by its
 * deadline. */
static void body_windows(int t, void *arg)
{
    uint32_t seed = (uint32_t)t * 2654435761u + 1;
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        pc_handoff_spin_t s;
        int64_t start = pc_now_ns(), end;
        seed = seed * 1103515245u + 12345u;
        end = start + (int64_t)(seed >> 16) % 20000; /* up to 20 us */
        if (!pc_handoff_spin_begin(&s, end)) {
            atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed);
            continue;
        }
        /* relaxed: counters checked after the join. */
        uint32_t now = atomic_fetch_add_explicit(&active, 1, memory_order_relaxed) + 1;
        uint32_t most = atomic_load_explicit(&most_active, memory_order_relaxed);
        while (now > most && !atomic_compare_exchange_weak_explicit(
                                 &most_active, &most, now, memory_order_relaxed,
                                 memory_order_relaxed))
            ;
        atomic_fetch_sub_explicit(&active, 1, memory_order_relaxed);
        while (pc_handoff_spin_next(&s))
            ;
        PC_CHECK(!s.slot, "a window ended still holding its slot");
        /* A window never outlives its deadline by more than the pauses and
         * one look at the clock; a second is slack for sanitizers, qemu and
         * preemption. */
        PC_CHECK(pc_now_ns() - end < 1000000000, "a window outlived its deadline by 1 s");
        pc_handoff_spin_end(&s); /* a second end is harmless */
        atomic_fetch_add_explicit(&windows, 1, memory_order_relaxed);
    }
}

/* The fake GIL and the turn two threads pass between them. */
static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
static pc_condvar_t turn_changed;
static pc_mutex_t turn_lock;
static int turn;          /* plain: under turn_lock */
static long turns_taken;  /* plain: under the fake GIL */

/* A thread's first take of the GIL, outside pyconc. */
static void take_gil(void)
{
    pthread_mutex_lock(&gil);
}

/* What a cffi wrapper of a blocking call does around the call. */
static void release_gil(void)
{
    pthread_mutex_unlock(&gil);
    pc_handoff_gil_released();
}

static void reacquire_gil(void)
{
    pc_handoff_gil_reacquire();
    pthread_mutex_lock(&gil);
    pc_handoff_gil_taken();
}

static void body_turns(int t, void *arg)
{
    (void)arg;
    take_gil();
    for (long i = 0; i < iterations; i++) {
        turns_taken++;
        /* Pass the turn, then wait for it back, as a bounded buffer's two
         * threads do; the condvar waits are "blocking calls". */
        while (pc_mutex_trylock(&turn_lock) == PC_MUTEX_BUSY)
            pc_cpu_relax();
        turn = 1 - t;
        pc_mutex_unlock(&turn_lock, false);
        pc_condvar_notify_one(&turn_changed);
        for (;;) {
            uint32_t seq;
            while (pc_mutex_trylock(&turn_lock) == PC_MUTEX_BUSY)
                pc_cpu_relax();
            if (turn == t || i == iterations - 1) {
                pc_mutex_unlock(&turn_lock, false);
                break;
            }
            seq = pc_condvar_unlock_prepare(&turn_changed, &turn_lock);
            release_gil();
            pc_condvar_wait(&turn_changed, seq, 50000000); /* a 50 ms slice */
            reacquire_gil();
        }
    }
    release_gil();
}

/* One thread keeps the fake GIL and yields it whenever another is on its
 * way back; the other makes blocking calls that return at once. */
static _Atomic int yielder_done;
static _Atomic long yields;

static void body_yield(int t, void *arg)
{
    (void)arg;
    if (t == 0) {
        int64_t give_up = pc_now_ns() + 2000000000; /* 2 s */
        take_gil();
        while (atomic_load_explicit(&yields, memory_order_relaxed) < iterations / 20 &&
               pc_now_ns() < give_up) {
            if (pc_handoff_gil_wanted()) {
                release_gil();
                pc_handoff_gil_passed();
                reacquire_gil();
                atomic_fetch_add_explicit(&yields, 1, memory_order_relaxed);
            }
        }
        release_gil();
        atomic_store_explicit(&yielder_done, 1, memory_order_release);
    } else {
        reacquire_gil(); /* as if back from a blocking call */
        while (!atomic_load_explicit(&yielder_done, memory_order_acquire)) {
            release_gil();
            reacquire_gil();
        }
        release_gil();
    }
}

int main(void)
{
    pc_handoff_spin_t s;
    uint32_t limit = pc_handoff_max_spinners();
    iterations = pc_scaled(20000);

    pc_handoff_enable(false);
    PC_CHECK(!pc_handoff_spin_begin(&s, INT64_MAX) && !s.slot,
             "a window opened with hand-off off");
    PC_CHECK(!pc_handoff_gil_wanted(), "GIL wanted with hand-off off");

    pc_handoff_enable(true);
    PC_CHECK(pc_handoff_enabled(), "hand-off did not switch on");
    PC_CHECK(limit == (pc_cpu_count() > PC_HANDOFF_MAX_SPINNERS
                           ? PC_HANDOFF_MAX_SPINNERS
                           : pc_cpu_count() - 1),
             "spinner limit %u for %u CPUs", limit, pc_cpu_count());
    if (limit > 0) {
        PC_CHECK(pc_handoff_spin_begin(&s, pc_now_ns() - 1), "no window with a free slot");
        PC_CHECK(!pc_handoff_spin_next(&s), "a window past its deadline went on");
    }

    pc_run_threads(THREADS, body_windows, NULL);
    PC_CHECK(atomic_load(&most_active) <= limit, "%u windows open at once, limit %u",
             atomic_load(&most_active), limit);
    PC_CHECK(atomic_load(&active) == 0, "window count unbalanced");

    pc_condvar_init(&turn_changed);
    pc_mutex_init(&turn_lock);
    pc_run_threads(2, body_turns, NULL);
    PC_CHECK(turns_taken == 2 * iterations, "turns %ld != %ld", turns_taken, 2 * iterations);
    PC_CHECK(!pc_handoff_gil_wanted(), "GIL still wanted after the turns");

    pc_run_threads(2, body_yield, NULL);
    PC_CHECK(atomic_load(&yields) > 0, "the GIL was never wanted in 2 s");
    PC_CHECK(!pc_handoff_gil_wanted(), "GIL still wanted after the yields");

    printf("validate_handoff: OK (limit %u spinners; %ld windows, %ld refused; "
           "2 x %ld turns; %ld yields)\n",
           limit, (long)atomic_load(&windows), (long)atomic_load(&refused), iterations,
           (long)atomic_load(&yields));
    return 0;
}
