/*
 * pc_rwlock.c - see pc_rwlock.h.  Structure and names follow Rust's
 * futex RwLock so the two can be read side by side.
 */
#include "pc_rwlock.h"

#include "pc_handoff.h"
#include "pc_park.h"

#define READ_LOCKED PC_RWLOCK_READ_LOCKED
#define MASK PC_RWLOCK_MASK
#define WRITE_LOCKED PC_RWLOCK_WRITE_LOCKED
#define MAX_READERS PC_RWLOCK_MAX_READERS
#define READERS_WAITING PC_RWLOCK_READERS_WAITING
#define WRITERS_WAITING PC_RWLOCK_WRITERS_WAITING

static inline bool is_unlocked(uint32_t s) { return (s & MASK) == 0; }
static inline bool is_write_locked(uint32_t s) { return (s & MASK) == WRITE_LOCKED; }
static inline bool has_readers_waiting(uint32_t s) { return (s & READERS_WAITING) != 0; }
static inline bool has_writers_waiting(uint32_t s) { return (s & WRITERS_WAITING) != 0; }

static inline bool is_read_lockable(uint32_t s)
{
    /* Not when readers or writers wait: readers are then woken all at
     * once, and waiting writers go first (no writer starvation). */
    return (s & MASK) < MAX_READERS && !has_readers_waiting(s) &&
           !has_writers_waiting(s);
}

static int poison_state(pc_rwlock_t *rw)
{
    /* relaxed: the lock's acquire ordered this after the writer's store. */
    return atomic_load_explicit(&rw->poisoned, memory_order_relaxed)
               ? PC_RWLOCK_POISONED
               : PC_RWLOCK_OK;
}

void pc_rwlock_init(pc_rwlock_t *rw)
{
    /* relaxed: initialisation happens before the lock is shared. */
    atomic_store_explicit(&rw->state, 0, memory_order_relaxed);
    atomic_store_explicit(&rw->writer_notify, 0, memory_order_relaxed);
    atomic_store_explicit(&rw->writers_parked, 0, memory_order_relaxed);
    atomic_store_explicit(&rw->poisoned, 0, memory_order_relaxed);
    atomic_store_explicit(&rw->async, NULL, memory_order_relaxed);
}

void pc_rwlock_destroy(pc_rwlock_t *rw)
{
    pc_async_list_free(&rw->async);
}

/* Fire every waiting coroutine, after a state change that may let them
 * in (the slow paths of the unlocks).  seq_cst fence: the waker's half of
 * the Dekker pair with a coroutine's registration (a seq_cst increment of
 * the list's count, a fence, then its read of the state); the state
 * changes before it may be relaxed CASes. */
static void wake_async(pc_rwlock_t *rw)
{
    pc_async_list_t *l = pc_async_list_peek(&rw->async);
    if (l == NULL)
        return;
    PC_FENCE_SEQ_CST();
    (void)pc_async_notify(l, PC_ASYNC_ALL);
}

/* Set `bit` in the state while `blocked(state)`: true if set (or already
 * set), false if the lock became available (the caller tries again).
 * release: the coroutine's registration (before this) is seen by the
 * unlock that reads the bit and wakes (wake_async's fence). */
static bool mark_waiting(pc_rwlock_t *rw, uint32_t s, uint32_t bit, bool write)
{
    for (;;) {
        if (write ? is_unlocked(s) : is_read_lockable(s))
            return false;
        if ((s & bit) != 0)
            return true;
        if (atomic_compare_exchange_weak_explicit(&rw->state, &s, s | bit,
                                                  memory_order_release,
                                                  memory_order_relaxed))
            return true;
    }
}

int pc_rwlock_try_read_async(pc_rwlock_t *rw)
{
    for (;;) {
        int r = pc_rwlock_try_read(rw);
        /* relaxed: mark_waiting's CAS decides. */
        if (r != PC_RWLOCK_BUSY ||
            mark_waiting(rw, atomic_load_explicit(&rw->state, memory_order_relaxed),
                         READERS_WAITING, false))
            return r;
    }
}

int pc_rwlock_try_write_async(pc_rwlock_t *rw)
{
    for (;;) {
        int r = pc_rwlock_try_write(rw);
        /* relaxed: as above. */
        if (r != PC_RWLOCK_BUSY ||
            mark_waiting(rw, atomic_load_explicit(&rw->state, memory_order_relaxed),
                         WRITERS_WAITING, true))
            return r;
    }
}

int pc_rwlock_try_read(pc_rwlock_t *rw)
{
    /* relaxed: the CAS below acquires. */
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    while (is_read_lockable(s)) {
        /* acquire: see the last writer's critical section. */
        if (atomic_compare_exchange_weak_explicit(&rw->state, &s, s + READ_LOCKED,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return poison_state(rw);
    }
    return PC_RWLOCK_BUSY;
}

int pc_rwlock_try_write(pc_rwlock_t *rw)
{
    /* relaxed: the CAS below acquires. */
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    while (is_unlocked(s)) {
        /* acquire: see the previous holders' critical sections.  Waiting
         * bits are kept: whoever unlocks next wakes their owners. */
        if (atomic_compare_exchange_weak_explicit(&rw->state, &s, s + WRITE_LOCKED,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return poison_state(rw);
    }
    return PC_RWLOCK_BUSY;
}

/* Spin briefly until f(state) holds (Rust: 100 rounds, "chosen by fair
 * dice roll"). */
static uint32_t spin_read(pc_rwlock_t *rw)
{
    for (int spin = 100;; spin--) {
        /* relaxed: just watching; the CAS acquires. */
        uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
        if (!is_write_locked(s) || has_readers_waiting(s) ||
            has_writers_waiting(s) || spin == 0)
            return s;
        pc_cpu_relax();
    }
}

static uint32_t spin_write(pc_rwlock_t *rw)
{
    for (int spin = 100;; spin--) {
        /* relaxed: just watching; the CAS acquires. */
        uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
        if (is_unlocked(s) || has_writers_waiting(s) || spin == 0)
            return s;
        pc_cpu_relax();
    }
}

static int64_t left_ns(int64_t deadline)
{
    int64_t left = deadline - pc_now_ns();
    return left > 0 ? left : 0;
}

int pc_rwlock_read_timed(pc_rwlock_t *rw, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    uint32_t s = spin_read(rw);
    bool spun = false;
    for (;;) {
        if (is_read_lockable(s)) {
            /* acquire: as in pc_rwlock_try_read. */
            if (atomic_compare_exchange_weak_explicit(
                    &rw->state, &s, s + READ_LOCKED, memory_order_acquire,
                    memory_order_relaxed))
                return poison_state(rw);
            continue;
        }
        if ((s & MASK) == MAX_READERS)
            return PC_RWLOCK_BUSY; /* 2^30 readers: wait for one to leave */
        /* Once per call, with hand-off on, a spin window (pc_handoff.h)
         * before announcing ourselves.  relaxed: as in spin_read. */
        if (!spun) {
            spun = true;
            PC_HANDOFF_SPIN_UNTIL(
                is_read_lockable(s = atomic_load_explicit(&rw->state, memory_order_relaxed)),
                deadline);
            continue;
        }
        /* Make sure the readers-waiting bit is set before sleeping.
         * relaxed: the futex compares the word itself. */
        if (!has_readers_waiting(s) &&
            !atomic_compare_exchange_strong_explicit(&rw->state, &s,
                                                     s | READERS_WAITING,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
            continue;
        if (left_ns(deadline) == 0)
            return PC_RWLOCK_BUSY;
        if (pc_park_wait(&rw->state, s | READERS_WAITING, left_ns(deadline),
                         false) == PC_PARK_INTERRUPTED)
            return PC_RWLOCK_BUSY;
        s = spin_read(rw);
    }
}

int pc_rwlock_write_timed(pc_rwlock_t *rw, int64_t timeout_ns, bool waited)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    uint32_t other_writers_waiting = waited ? WRITERS_WAITING : 0;
    uint32_t s = spin_write(rw);
    bool spun = false;
    for (;;) {
        uint32_t seq;
        int r;
        if (is_unlocked(s)) {
            /* acquire: as in pc_rwlock_try_write. */
            if (atomic_compare_exchange_weak_explicit(
                    &rw->state, &s, s | WRITE_LOCKED | other_writers_waiting,
                    memory_order_acquire, memory_order_relaxed))
                return poison_state(rw);
            continue;
        }
        /* Once per call, with hand-off on, a spin window (pc_handoff.h)
         * before announcing ourselves.  relaxed: as in spin_write. */
        if (!spun) {
            spun = true;
            PC_HANDOFF_SPIN_UNTIL(
                is_unlocked(s = atomic_load_explicit(&rw->state, memory_order_relaxed)),
                deadline);
            continue;
        }
        /* Announce ourselves.  relaxed: ordered by the notify counter. */
        if (!has_writers_waiting(s) &&
            !atomic_compare_exchange_strong_explicit(&rw->state, &s,
                                                     s | WRITERS_WAITING,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
            continue;
        /* Other writers may be waiting too: keep the bit once we lock. */
        other_writers_waiting = WRITERS_WAITING;
        /* acquire: read the counter before re-checking the state, so a
         * wake between the two is not missed (pairs with wake_writer). */
        seq = atomic_load_explicit(&rw->writer_notify, memory_order_acquire);
        /* relaxed: the acquire above ordered it. */
        s = atomic_load_explicit(&rw->state, memory_order_relaxed);
        if (is_unlocked(s) || !has_writers_waiting(s))
            continue;
        if (left_ns(deadline) == 0)
            return PC_RWLOCK_BUSY;
        /* seq_cst: the writer's half of the Dekker pair with wake_writer
         * (count ourselves, then let the futex compare the counter). */
        atomic_fetch_add_explicit(&rw->writers_parked, 1, memory_order_seq_cst);
        r = pc_park_wait(&rw->writer_notify, seq, left_ns(deadline), false);
        /* relaxed: leaving; a waker that still counts us wakes nobody and
         * leaves the readers to the next unlock or to an abandon. */
        atomic_fetch_sub_explicit(&rw->writers_parked, 1, memory_order_relaxed);
        if (r == PC_PARK_INTERRUPTED)
            return PC_RWLOCK_BUSY;
        s = spin_write(rw);
    }
}

/* Wake one writer; false if none was parked (Rust's futex_wake result). */
static bool wake_writer(pc_rwlock_t *rw)
{
    /* seq_cst: the waker's half of the Dekker pair on (writer_notify,
     * writers_parked); also a release, so a writer that reads the new
     * count (acquire) sees the state change made before it. */
    atomic_fetch_add_explicit(&rw->writer_notify, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&rw->writers_parked, memory_order_seq_cst) == 0)
        return false;
    pc_park_wake_one(&rw->writer_notify, false);
    return true;
}

static void wake_all(pc_rwlock_t *rw)
{
    /* release: as in wake_writer. */
    atomic_fetch_add_explicit(&rw->writer_notify, 1, memory_order_release);
    pc_park_wake_all(&rw->writer_notify, false);
    pc_park_wake_all(&rw->state, false);
    wake_async(rw);
}

/* Called with the lock unlocked and some waiting bit set.  If somebody
 * locks it meanwhile, their unlock takes over the waking. */
static void wake_writer_or_readers(pc_rwlock_t *rw, uint32_t s)
{
    /* All CASes relaxed: they only hand over the duty of waking; the
     * woken threads acquire through their own lock CAS. */
    if (s == WRITERS_WAITING) {
        if (atomic_compare_exchange_strong_explicit(&rw->state, &s, 0,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed)) {
            (void)wake_writer(rw);
            wake_async(rw);
            return;
        }
    }
    if (s == (READERS_WAITING | WRITERS_WAITING)) {
        /* Leave the readers waiting and wake one writer; if no writer was
         * asleep, wake the readers instead (a writer between slices
         * re-checks on its next call and sets its bit again). */
        if (!atomic_compare_exchange_strong_explicit(&rw->state, &s,
                                                     READERS_WAITING,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
            return; /* locked meanwhile: its unlock wakes */
        if (wake_writer(rw)) {
            wake_async(rw); /* a coroutine writer may be first */
            return;
        }
        s = READERS_WAITING;
    }
    if (s == READERS_WAITING) {
        if (atomic_compare_exchange_strong_explicit(&rw->state, &s, 0,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed)) {
            pc_park_wake_all(&rw->state, false);
            wake_async(rw);
        }
    }
}

void pc_rwlock_write_abandon(pc_rwlock_t *rw)
{
    /* relaxed: clears the bits; the wake below makes everybody re-check. */
    atomic_fetch_and_explicit(&rw->state, ~(READERS_WAITING | WRITERS_WAITING),
                              memory_order_relaxed);
    wake_all(rw);
}

void pc_rwlock_read_unlock(pc_rwlock_t *rw)
{
    /* release: publish nothing written (readers), but order the reads of
     * the critical section before the next writer's writes. */
    uint32_t s = atomic_fetch_sub_explicit(&rw->state, READ_LOCKED,
                                           memory_order_release) -
                 READ_LOCKED;
    /* The last reader wakes a waiting writer. */
    if (is_unlocked(s) && has_writers_waiting(s))
        wake_writer_or_readers(rw, s);
}

void pc_rwlock_write_unlock(pc_rwlock_t *rw, bool poison)
{
    uint32_t s;
    if (poison)
        /* relaxed: published by the release below. */
        atomic_store_explicit(&rw->poisoned, 1, memory_order_relaxed);
    /* release: publish the critical section to the next holders. */
    s = atomic_fetch_sub_explicit(&rw->state, WRITE_LOCKED, memory_order_release) -
        WRITE_LOCKED;
    if (has_writers_waiting(s) || has_readers_waiting(s))
        wake_writer_or_readers(rw, s);
}

void pc_rwlock_downgrade(pc_rwlock_t *rw)
{
    /*
     * One subtraction turns WRITE_LOCKED (the whole count field) into one
     * reader and keeps the waiting bits: the count field cannot borrow
     * from them (MASK - (MASK - 1) = 1).  As Rust's downgrade.  release:
     * publish the critical section written so far to the readers who join.
     */
    uint32_t s = atomic_fetch_sub_explicit(&rw->state, WRITE_LOCKED - READ_LOCKED,
                                           memory_order_release) -
                 (WRITE_LOCKED - READ_LOCKED);
    if (has_readers_waiting(s)) {
        /* Nobody else clears the bit while we hold the lock.  relaxed: the
         * woken readers acquire through their own CAS (and, if a writer
         * waits, set the bit again and go back to sleep). */
        atomic_fetch_and_explicit(&rw->state, ~READERS_WAITING, memory_order_relaxed);
        pc_park_wake_all(&rw->state, false);
        wake_async(rw);
    }
}

bool pc_rwlock_is_poisoned(pc_rwlock_t *rw)
{
    /* acquire: pairs with clear_poison's release (and shows the data the
     * poisoning writer left). */
    return atomic_load_explicit(&rw->poisoned, memory_order_acquire) != 0;
}

void pc_rwlock_clear_poison(pc_rwlock_t *rw)
{
    /* release: pairs with pc_rwlock_is_poisoned. */
    atomic_store_explicit(&rw->poisoned, 0, memory_order_release);
}

int64_t pc_rwlock_holders(pc_rwlock_t *rw)
{
    /* relaxed: a snapshot for repr(); orders nothing. */
    uint32_t s = atomic_load_explicit(&rw->state, memory_order_relaxed);
    return is_write_locked(s) ? -1 : (int64_t)(s & MASK);
}
