/*
 * pc_handoff.h - spinning before parking, and taking the GIL back when it
 * is free.
 *
 * Threads that take turns (a producer filling a small buffer, a consumer
 * draining it) pay two wake-up latencies per turn unless the waits are
 * arranged for them:
 *
 *   - Parking.  A thread asleep in the kernel takes tens of microseconds
 *     to run again after its wake-up: 29 us per hand-over measured on the
 *     2-vCPU machine pyconc is developed on, against 0.2 us when the
 *     waiting thread spins instead.
 *   - The GIL.  CPython's take_gil puts a thread that finds the GIL held
 *     to sleep on a condition variable.  A waiter that pyconc wakes
 *     promptly, while the waker still runs Python, goes back to sleep in
 *     take_gil and pays the wake-up again when the waker lets go.
 *
 * So, when hand-off is enabled (pyconc enables it on interpreters with a
 * GIL; see pc_handoff_enable):
 *
 *   1. A wait spins for up to PC_HANDOFF_SPIN_NS before it parks: the
 *      spin-then-block rule, spinning about as long as blocking costs,
 *      which never costs more than twice the best choice made knowing the
 *      future (Karlin, Manasse, McGeoch and Owicki, "Competitive
 *      randomized algorithms for non-uniform problems", SODA 1990).
 *   2. A wait whose condition holds spins, before returning to take the
 *      GIL, until the GIL is likely to be free, so that take_gil finds it
 *      unlocked and does not sleep.  "Likely free" is a hint,
 *      pc_handoff_gil: set by every pyconc call that releases the GIL (its
 *      cffi wrapper has just done so, see build.py), cleared by every
 *      pyconc call that has taken it back.  In a program whose threads
 *      take turns through pyconc's waits, that is exactly the GIL's state;
 *      a thread that takes or drops the GIL elsewhere (time.sleep, I/O,
 *      the interpreter's switch interval) makes it stale, which costs at
 *      most one spin window and never correctness: take_gil does the
 *      real work.
 *
 * Spinning threads never crowd out the one that runs Python: at most
 * CPUs - 1 threads (and never more than PC_HANDOFF_MAX_SPINNERS) spin at
 * once; a wait that finds no slot free parks at
 * once, as does every wait on a single CPU.  Without hand-off (the
 * default in C, and on free-threaded builds, where no GIL serialises the
 * threads and many more of them may be spinning) waits keep only their
 * short backoff (pc_backoff.h) before parking.
 */
#ifndef PC_HANDOFF_H
#define PC_HANDOFF_H

#include "pc_config.h"

/* The longest spin window.  A little over the measured park-and-wake cost
 * (above): long enough that a partner who takes a few tens of
 * microseconds per turn finds its waiter still spinning. */
#define PC_HANDOFF_SPIN_NS 50000

/* At most this many threads spin at once, however many CPUs there are:
 * with a GIL only the few threads next in line for it gain anything from
 * spinning, and the machine's other CPUs may have other work. */
#define PC_HANDOFF_MAX_SPINNERS 4

/* Turn hand-off on or off (off at start).  Any thread, any time: a wait
 * already spinning finishes its window. */
void pc_handoff_enable(bool on);

/* Whether hand-off is on. */
bool pc_handoff_enabled(void);

/* The limit on threads spinning at once: CPUs - 1, at most
 * PC_HANDOFF_MAX_SPINNERS. */
uint32_t pc_handoff_max_spinners(void);

/*
 * A spin window.  The pattern:
 *
 *     pc_handoff_spin_t s;
 *     if (!ready(x) && pc_handoff_spin_begin(&s, deadline)) {
 *         while (!ready(x) && pc_handoff_spin_next(&s))
 *             ;
 *         pc_handoff_spin_end(&s);
 *     }
 *
 * begin takes a spinning slot (false, and no window, if hand-off is off or
 * no slot is free); next pauses briefly and returns false once the window
 * is over; end gives the slot back (and may be called more than once).
 * PC_HANDOFF_SPIN_UNTIL below is that pattern.
 */
typedef struct pc_handoff_spin {
    int64_t end;
    bool slot;
} pc_handoff_spin_t;

bool pc_handoff_spin_begin(pc_handoff_spin_t *s, int64_t deadline);
bool pc_handoff_spin_next(pc_handoff_spin_t *s);
void pc_handoff_spin_end(pc_handoff_spin_t *s);

/* Spin one window, ending by `deadline` at the latest, until the
 * expression `ready` holds (it is evaluated again and again): what a wait
 * does before it parks.  Nothing at all when `ready` already holds or no
 * window opens. */
#define PC_HANDOFF_SPIN_UNTIL(ready, deadline)                                 \
    do {                                                                       \
        pc_handoff_spin_t pc_spin_;                                            \
        if (!(ready) && pc_handoff_spin_begin(&pc_spin_, (deadline))) {        \
            while (!(ready) && pc_handoff_spin_next(&pc_spin_))                \
                ;                                                              \
            pc_handoff_spin_end(&pc_spin_);                                    \
        }                                                                      \
    } while (0)

/* The cffi wrapper of every blocking call (build.py): */
/* ... just after releasing the GIL: mark it likely free. */
void pc_handoff_gil_released(void);
/* ... just before taking it back: spin (one window at most) until it is
 * likely free. */
void pc_handoff_gil_reacquire(void);
/* ... and once it has it: mark it held. */
void pc_handoff_gil_taken(void);

/*
 * Yielding the GIL to a waiting thread, for code that would otherwise keep
 * it for a long time (send_many filling an unbounded channel: the
 * receiver would wait for the interpreter's switch interval, 5 ms, while
 * the backlog outgrows the caches).  With the GIL held:
 *
 *     if (pc_handoff_gil_wanted()) {
 *         Py_BEGIN_ALLOW_THREADS
 *         pc_handoff_gil_released();
 *         pc_handoff_gil_passed();
 *         pc_handoff_gil_reacquire();
 *         Py_END_ALLOW_THREADS
 *         pc_handoff_gil_taken();
 *     }
 */
/* Is a thread on its way back to the GIL from a pyconc call? */
bool pc_handoff_gil_wanted(void);
/* After releasing the GIL to yield it: spin (one window at most) until
 * another thread has taken it. */
void pc_handoff_gil_passed(void);

#endif /* PC_HANDOFF_H */
