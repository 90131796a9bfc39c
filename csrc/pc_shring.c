/*
 * pc_shring.c - the shared-memory MPSC ring of pc_shring.h: its layout,
 * the send and receive protocols, and the waits.  Who holds the ends (the
 * producers' slot registry, the receiving process) is pc_shring_ends.c;
 * the control words and cell addressing both use, pc_shring_cells.h.
 *
 * Length: the send and receive protocols share the control words and the
 * recovery of records left by dead processes; they are read together.
 */
#include "pc_shring.h"
#include "pc_shring_cells.h"

#include <string.h>

#include "pc_backoff.h"
#include "pc_park.h"

_Static_assert(sizeof(pc_shring_slot_t) == 16, "slot layout");

/*
 * The seq_cst fence of the wake-up handshakes.  ThreadSanitizer does not
 * model fences (gcc refuses them under -fsanitize=thread -Werror): in such
 * builds a seq_cst read-modify-write of a private word stands in, which is
 * a full barrier on x86, where the sanitizer runs.
 */
#if defined(__SANITIZE_THREAD__)
#define PC_SHRING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PC_SHRING_TSAN 1
#endif
#endif
#ifdef PC_SHRING_TSAN
static _Atomic uint32_t pc_shring_fence_word;
#define PC_SHRING_SC_FENCE()                                                      \
    ((void)atomic_fetch_add_explicit(&pc_shring_fence_word, 0, memory_order_seq_cst))
#else
#define PC_SHRING_SC_FENCE() atomic_thread_fence(memory_order_seq_cst)
#endif
_Static_assert(sizeof(pc_shring_t) % PC_CACHELINE == 0, "ring padding");

/* Copy between a record's payload and a flat buffer, cell by cell, past
 * the control words, across the wrap. */
static void pc_shring_copy(pc_shring_t *r, uint64_t pos, char *flat, uint64_t len,
                           bool to_ring)
{
    char *data = pc_shring_data(r);
    uint64_t mask = r->cells - 1, off = 16, room = PC_SHRING_FIRST_DATA;
    while (len > 0) {
        uint64_t chunk = len < room ? len : room;
        char *cell = data + (pos & mask) * PC_SHRING_CELL + off;
        if (to_ring)
            memcpy(cell, flat, chunk);
        else
            memcpy(flat, cell, chunk);
        flat += chunk;
        len -= chunk;
        pos++;
        off = 8;
        room = PC_SHRING_CELL_DATA;
    }
}

/*
 * Each producer thread's last view of the consumer's head, for one ring at
 * a time (the cached-index idea of Lamport-style SPSC queues, e.g.
 * rigtorp's SPSCQueue): head only grows, so an old value understates the
 * room and is safe to use; the ring's head is read again only when the
 * cached one says the record does not fit.  Thread-local, so the value was
 * read by this very thread with acquire, and the consumer's reads of the
 * cells below it happen before our writes to them.
 */
#if defined(_MSC_VER) && !defined(__clang__)
#define PC_THREAD_LOCAL __declspec(thread)
#else
#define PC_THREAD_LOCAL _Thread_local
#endif
static PC_THREAD_LOCAL const pc_shring_t *pc_shring_cached_ring;
static PC_THREAD_LOCAL uint64_t pc_shring_cached_id;
static PC_THREAD_LOCAL uint64_t pc_shring_cached_head;

PC_INLINE bool pc_shring_cached(const pc_shring_t *r)
{
    return pc_shring_cached_ring == r && pc_shring_cached_id == r->id;
}

/* ----------------------------------------------------------- layout */

uint64_t pc_shring_cells_for(uint64_t capacity_bytes)
{
    uint64_t cells = PC_SHRING_MIN_CELLS;
    while (cells * PC_SHRING_CELL < capacity_bytes) {
        cells <<= 1;
        if (cells > PC_SHRING_MAX_CELLS)
            return 0;
    }
    return cells;
}

uint64_t pc_shring_bytes(uint64_t cells)
{
    return (uint64_t)sizeof(pc_shring_t) + cells * PC_SHRING_CELL;
}

uint64_t pc_shring_max_payload(uint64_t cells)
{
    return pc_shring_capacity_of(cells < PC_SHRING_MAX_RECORD_CELLS
                                     ? cells
                                     : PC_SHRING_MAX_RECORD_CELLS);
}

void pc_shring_init(pc_shring_t *r, uint64_t cells, uint32_t rx_pid)
{
    /* All relaxed: the ring is not shared until its creator hands out its
     * name, which is ordered after this by the system calls in between. */
    static _Atomic uint64_t rings_made;
    r->cells = cells;
    /* Unique enough: time, process, and a per-process counter. relaxed: a
     * counter. */
    r->id = (uint64_t)pc_now_ns() ^ ((uint64_t)rx_pid << 40) ^
            (atomic_fetch_add_explicit(&rings_made, 1, memory_order_relaxed) << 20);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->rx_pid, rx_pid, memory_order_relaxed);
    r->stuck_pos = UINT64_MAX;
    r->stuck_check_ns = 0;
    for (uint64_t i = 0; i < cells; i++)
        atomic_store_explicit(pc_shring_ctrl_at(r, i), pc_shring_free_word(i),
                              memory_order_relaxed);
    r->magic = PC_SHRING_MAGIC;
}

int pc_shring_check(pc_shring_t *r, uint64_t size)
{
    uint64_t cells;
    if (size < sizeof(pc_shring_t) || r->magic != PC_SHRING_MAGIC)
        return -1;
    cells = r->cells;
    if (cells < PC_SHRING_MIN_CELLS || cells > PC_SHRING_MAX_CELLS ||
        (cells & (cells - 1)) != 0 || pc_shring_bytes(cells) > size)
        return -1;
    return 0;
}

uint64_t pc_shring_cells(pc_shring_t *r)
{
    return r->cells;
}

/* ------------------------------------------------------------- send */

/* Producers waiting for space, or the consumer waiting for records: bump
 * the eventcount and wake if the other side announced itself.  The caller
 * has made its change (commit, or head) visible before this fence. */
static void pc_shring_notify(_Atomic uint32_t *waiting, _Atomic uint32_t *futex,
                             bool all)
{
    /* seq_cst fence: orders our change before the load of `waiting`,
     * against the waiter's store of `waiting` and fence before it checks
     * (Dekker): one of us sees the other. */
    PC_SHRING_SC_FENCE();
    /* relaxed: ordered by the fence above. */
    if (atomic_load_explicit(waiting, memory_order_relaxed) == 0)
        return;
    /* relaxed: only one notifier needs to make the system call. */
    if (atomic_exchange_explicit(waiting, 0, memory_order_relaxed) == 0)
        return;
    /* release: the waiter that sees the new count sees our change. */
    atomic_fetch_add_explicit(futex, 1, memory_order_release);
    if (all)
        pc_park_wake_all(futex, true);
    else
        pc_park_wake_one(futex, true);
}

/*
 * Claim n cells for `slot`: their first position in *pos, or PC_FULL.
 */
static pc_status pc_shring_claim(pc_shring_t *r, unsigned slot, uint64_t n, uint64_t *pos)
{
    uint64_t cells = r->cells, t, h, c;
    pc_backoff_t backoff;
    bool cached = pc_shring_cached(r);

    pc_backoff_init(&backoff);
    h = cached ? pc_shring_cached_head : 0;
    for (;;) {
        /* relaxed: a hint, validated by the CAS on the control word. */
        t = atomic_load_explicit(&r->tail, memory_order_relaxed);
        if (!cached || (int64_t)(t - h) < 0 || t + n - h > cells) {
            /* acquire: the consumer's reads of the cells we may reuse
             * happen before our writes to them (it stores head with
             * release). */
            h = atomic_load_explicit(&r->head, memory_order_acquire);
            pc_shring_cached_ring = r;
            pc_shring_cached_id = r->id;
            pc_shring_cached_head = h;
            cached = true;
        }
        if ((int64_t)(t - h) < 0) {
            /* The hint lags behind the consumer (it skipped a dead
             * producer's record before anyone moved the hint): catch up.
             * relaxed: a hint. */
            atomic_compare_exchange_strong_explicit(
                &r->tail, &t, h, memory_order_relaxed, memory_order_relaxed);
            continue;
        }
        /* acquire: if claimed, its length is valid for helping. */
        c = atomic_load_explicit(pc_shring_ctrl_at(r, t), memory_order_acquire);
        if (pc_shring_is_for(c, t) && pc_shring_state(c) >= PC_SHRING_S_RESERVED) {
            /* Claimed but the hint not moved yet: help.  relaxed: a hint. */
            uint64_t expected = t;
            atomic_compare_exchange_strong_explicit(
                &r->tail, &expected, t + pc_shring_n(c), memory_order_relaxed,
                memory_order_relaxed);
            continue;
        }
        if (c != pc_shring_free_word(t) || t + n - h > cells) {
            /* relaxed: re-read the hint; if it moved, our view was stale. */
            if (atomic_load_explicit(&r->tail, memory_order_relaxed) != t) {
                pc_backoff_spin(&backoff);
                continue;
            }
            return PC_FULL; /* the consumer has not freed them yet */
        }
        /* acq_rel on success: release orders our slot's registration
         * before the claim (a consumer that sees the claim sees our pid);
         * acquire orders the consumer's freeing before our writes.
         * relaxed on failure: we start over. */
        if (atomic_compare_exchange_strong_explicit(
                pc_shring_ctrl_at(r, t), &c,
                pc_shring_ctrl(t, PC_SHRING_S_RESERVED, slot, n),
                memory_order_acq_rel, memory_order_relaxed))
            break;
        pc_backoff_spin(&backoff);
    }
    {
        /* Move the hint past our record (somebody may have helped). */
        uint64_t expected = t;
        /* relaxed: a hint. */
        atomic_compare_exchange_strong_explicit(&r->tail, &expected, t + n,
                                                memory_order_relaxed,
                                                memory_order_relaxed);
    }
    *pos = t;
    return PC_OK;
}

pc_status pc_shring_try_send(pc_shring_t *r, int slot, const char *data, uint64_t len)
{
    uint64_t cells = r->cells, n, t;

    if (len > pc_shring_max_payload(cells))
        return PC_INVALID;
    /* relaxed: a hint; a send racing with close may still land, unread. */
    if (atomic_load_explicit(&r->rx_closed, memory_order_relaxed))
        return PC_CLOSED;
    n = pc_shring_cells_needed(len);
    if (pc_shring_claim(r, (unsigned)slot, n, &t) != PC_OK)
        return PC_FULL;

    /* Our cells: length word, then payload, then commit. */
    memcpy(pc_shring_len_at(r, t), &len, 8);
    pc_shring_copy(r, t, (char *)data, len, true);
    /* release: the consumer that sees COMMITTED sees the length and the
     * payload. */
    atomic_store_explicit(pc_shring_ctrl_at(r, t),
                          pc_shring_ctrl(t, PC_SHRING_S_COMMITTED, (unsigned)slot, n),
                          memory_order_release);
    pc_shring_notify(&r->rx_waiting, &r->rx_futex, false);
    return PC_OK;
}

#ifdef PC_TEST_HOOKS /* pc_shring.h */
pc_status pc_shring_debug_abandon(pc_shring_t *r, int slot, uint64_t len)
{
    uint64_t n = pc_shring_cells_needed(len), t, half = len / 2;
    char junk[256];
    if (len > pc_shring_max_payload(r->cells))
        return PC_INVALID;
    if (pc_shring_claim(r, (unsigned)slot, n, &t) != PC_OK)
        return PC_FULL;
    memset(junk, 0x5a, sizeof junk);
    memcpy(pc_shring_len_at(r, t), &len, 8);
    pc_shring_copy(r, t, junk, half < sizeof junk ? half : sizeof junk, true);
    return PC_OK; /* and never commit */
}
#endif

/* ------------------------------------------------------------- recv */

/* Free the n cells of the record at h (consumer only, under rx_lock),
 * the first cell last: until then the record is intact for a consumer
 * that takes over from us if we die here (see pc_shring.h). */
static void pc_shring_free_cells(pc_shring_t *r, uint64_t h, uint64_t n)
{
    for (uint64_t i = n; i-- > 0;)
        /* relaxed: published by the release store of head that follows. */
        atomic_store_explicit(pc_shring_ctrl_at(r, h + i),
                              pc_shring_free_word(h + i + r->cells),
                              memory_order_relaxed);
}

/* Publish the consumer's new head; wake waiting producers once a quarter
 * of the ring is free (or all of it). */
static void pc_shring_advance(pc_shring_t *r, uint64_t h)
{
    uint64_t t;
    /* release: our reads of the freed cells, and their FREE words, happen
     * before any producer reuses them. */
    atomic_store_explicit(&r->head, h, memory_order_release);
    /* seq_cst fence: the head store before the look at tx_waiting, against
     * the producer's announcement and fence before its look at head
     * (pc_shring_wait_send). */
    PC_SHRING_SC_FENCE();
    /* relaxed: ordered by the fence. */
    if (atomic_load_explicit(&r->tx_waiting, memory_order_relaxed) == 0)
        return;
    /* relaxed: a hint; a producer that parked with less room than this
     * re-checks before it parks. */
    t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if ((int64_t)(t - h) <= 0 || t - h <= r->cells - r->cells / 4)
        pc_shring_notify(&r->tx_waiting, &r->tx_futex, true);
}

/*
 * After a consumer died holding the receive lock: move head over the cells
 * it freed but did not publish (FREE words of the next lap, which no
 * producer can claim before head passes them), so that the ring goes on.
 * Under rx_lock.
 */
static void pc_shring_recover(pc_shring_t *r)
{
    /* relaxed: only the lock holder writes head. */
    uint64_t start = atomic_load_explicit(&r->head, memory_order_relaxed), h = start;
    while (h - start < r->cells &&
           /* relaxed: written by the dead consumer, whose writes the
            * acquire of the lock made visible. */
           atomic_load_explicit(pc_shring_ctrl_at(r, h), memory_order_relaxed) ==
               pc_shring_free_word(h + r->cells))
        h++;
    r->stuck_pos = UINT64_MAX;
    if (h != start)
        pc_shring_advance(r, h);
}

/* Take the receive lock for process pid (taking it over from a dead
 * holder, and repairing what it left); false if another live thread or
 * process holds it. */
static bool pc_shring_rx_lock(pc_shring_t *r, uint32_t pid)
{
    uint32_t holder = 0;
    /* acquire: see the previous receiver's updates of the consumer state. */
    if (atomic_compare_exchange_strong_explicit(&r->rx_lock, &holder, pid,
                                                memory_order_acquire,
                                                memory_order_relaxed))
        return true;
    if (holder == pid || pc_ipc_pid_alive(holder))
        return false;
    /* acquire: as above. */
    if (!atomic_compare_exchange_strong_explicit(&r->rx_lock, &holder, pid,
                                                 memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    pc_shring_recover(r);
    return true;
}

/* Skip the record of n cells at h, unread, and count it. */
static void pc_shring_skip(pc_shring_t *r, uint64_t h, uint64_t n)
{
    pc_shring_free_cells(r, h, n);
    /* relaxed: statistics. */
    atomic_fetch_add_explicit(&r->skipped_records, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->skipped_bytes, n * PC_SHRING_CELL, memory_order_relaxed);
}

/* True if the record RESERVED at h (control word c) will never be
 * committed: claimed by a slot's earlier, dead, owner (below its `since`),
 * or by its present owner, now dead. */
static bool pc_shring_abandoned(pc_shring_t *r, uint64_t h, uint64_t c)
{
    pc_shring_slot_t *s = &r->slots[pc_shring_slot_of(c)];
    /* acquire: pairs with register's release store; a stale (older) value
     * only delays the verdict to the next check. */
    uint64_t since = atomic_load_explicit(&s->since, memory_order_acquire);
    /* relaxed: we read the claim (with acquire) before, so we see at least
     * the pid of the process that made it. */
    uint32_t owner = atomic_load_explicit(&s->pid, memory_order_relaxed);
    return (int64_t)(h - since) < 0 || !pc_ipc_pid_alive(owner);
}

/* The receive loop; stop_after >= 0 (tests only) makes it stop as a
 * consumer killed after freeing that many records would. */
static pc_status pc_shring_recv_loop(pc_shring_t *r, uint32_t pid, char *buf,
                                     uint64_t bufsize, int64_t *lens, int64_t maxn,
                                     int64_t *count, int64_t stop_after, bool first)
{
    int64_t got = 0;
    uint64_t used = 0, h, start;
    pc_status st = PC_OK;

    if (!pc_shring_rx_lock(r, pid))
        return PC_BUSY;
    /* relaxed: only the lock holder writes head. */
    start = h = atomic_load_explicit(&r->head, memory_order_relaxed);
    while (got < maxn) {
        /* acquire: pairs with the producer's release commit. */
        uint64_t c = atomic_load_explicit(pc_shring_ctrl_at(r, h), memory_order_acquire);
        uint64_t n, len;
        unsigned state = pc_shring_is_for(c, h) ? pc_shring_state(c) : 0;
        if (state == PC_SHRING_S_COMMITTED) {
            n = pc_shring_n(c);
            memcpy(&len, pc_shring_len_at(r, h), 8);
            if (len > pc_shring_capacity_of(n)) {
                /* A length the record cannot hold: the shared memory was
                 * written by something else than pc_shring.  Never copy
                 * out of bounds: skip the record and count it. */
                pc_shring_skip(r, h, n);
                h += n;
                continue;
            }
            if (len > bufsize - used) {
                if (got == 0) {
                    lens[0] = (int64_t)len;
                    st = PC_SHRING_TOO_SMALL;
                }
                break;
            }
            pc_shring_copy(r, h, buf + used, len, false);
            lens[got++] = (int64_t)len;
            used += len;
            if (stop_after >= 0 && got > stop_after) {
                /* Die here: the last record's cells freed (its first one
                 * only if `first`), head not published. */
                if (first)
                    pc_shring_free_cells(r, h, n);
                else if (n > 1)
                    pc_shring_free_cells(r, h + 1, n - 1);
                return PC_OK;
            }
            pc_shring_free_cells(r, h, n);
            h += n;
            continue;
        }
        if (state == PC_SHRING_S_RESERVED) {
            /* Being written, or its producer died.  Check the producer at
             * most every PC_SHRING_STUCK_NS, after that long. */
            int64_t now = pc_now_ns();
            if (r->stuck_pos != h) {
                r->stuck_pos = h;
                r->stuck_check_ns = now + PC_SHRING_STUCK_NS;
            } else if (now >= r->stuck_check_ns) {
                r->stuck_check_ns = now + PC_SHRING_STUCK_NS;
                if (pc_shring_abandoned(r, h, c)) {
                    pc_shring_skip(r, h, pc_shring_n(c));
                    h += pc_shring_n(c);
                    continue;
                }
            }
        }
        break;
    }
    if (h != start)
        pc_shring_advance(r, h);
    /* release: hand the consumer state to the next receiver. */
    atomic_store_explicit(&r->rx_lock, 0, memory_order_release);
    *count = got;
    if (st != PC_OK)
        return st;
    return got == 0 ? PC_EMPTY : PC_OK;
}

pc_status pc_shring_try_recv(pc_shring_t *r, uint32_t pid, char *buf, uint64_t bufsize,
                             int64_t *lens, int64_t maxn, int64_t *count)
{
    return pc_shring_recv_loop(r, pid, buf, bufsize, lens, maxn, count, -1, false);
}

#ifdef PC_TEST_HOOKS /* pc_shring.h */
void pc_shring_debug_die_in_recv(pc_shring_t *r, uint32_t dead_pid, int64_t records,
                                 bool first)
{
    static char buf[1 << 16];
    static int64_t lens[256];
    int64_t count;
    if (records < 0 || records > 255)
        return;
    /* Returns holding the receive lock (as dead_pid) if it found more than
     * `records` records, else after an ordinary receive. */
    (void)pc_shring_recv_loop(r, dead_pid, buf, sizeof buf, lens, records + 1, &count,
                              records, first);
}
#endif

bool pc_shring_is_empty(pc_shring_t *r)
{
    /* acquire: as in pc_shring_len. */
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t c = atomic_load_explicit(pc_shring_ctrl_at(r, h), memory_order_acquire);
    /* Records are contiguous from the head: if the head's cell is not
     * claimed, nothing is. */
    return !(pc_shring_is_for(c, h) && pc_shring_state(c) >= PC_SHRING_S_RESERVED);
}

uint64_t pc_shring_len(pc_shring_t *r)
{
    uint64_t count = 0;
    /* acquire: a snapshot from the consumer's position. */
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    for (uint64_t walked = 0; walked < r->cells;) {
        /* acquire: read a claimed record's length consistently. */
        uint64_t c = atomic_load_explicit(pc_shring_ctrl_at(r, h), memory_order_acquire);
        if (!pc_shring_is_for(c, h) || pc_shring_state(c) < PC_SHRING_S_RESERVED)
            break;
        count++;
        walked += pc_shring_n(c);
        h += pc_shring_n(c);
    }
    return count;
}

/* --------------------------------------------------------- blocking */

/* True if the record at the head is committed, or every handle is gone
 * (a hint for waiting). */
static bool pc_shring_head_ready(pc_shring_t *r)
{
    /* relaxed: hints; the receive re-reads with acquire. */
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t c = atomic_load_explicit(pc_shring_ctrl_at(r, h), memory_order_relaxed);
    return (pc_shring_is_for(c, h) && pc_shring_state(c) == PC_SHRING_S_COMMITTED) ||
           atomic_load_explicit(&r->handles_total, memory_order_relaxed) == 0 ||
           atomic_load_explicit(&r->rx_closed, memory_order_relaxed);
}

/* True if a record of n cells may fit now, or the receiver closed. */
static bool pc_shring_room(pc_shring_t *r, uint64_t n)
{
    /* relaxed: hints; the send that follows re-checks. */
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    return atomic_load_explicit(&r->rx_closed, memory_order_relaxed) ||
           (int64_t)(t - h) < 0 || t + n - h <= r->cells;
}

int pc_shring_wait_recv(pc_shring_t *r, int64_t timeout_ns)
{
    pc_backoff_t backoff;
    uint32_t seen;
    uint64_t h, c;

    /* The producer is usually a few microseconds away: spin, then yield,
     * before the cost of parking and being woken. */
    pc_backoff_init(&backoff);
    while (!pc_backoff_is_completed(&backoff)) {
        if (pc_shring_head_ready(r))
            return PC_PARK_WOKEN;
        pc_backoff_snooze(&backoff);
    }
    /* acquire: a change we see after waking is the producers' (bumped
     * with release). */
    seen = atomic_load_explicit(&r->rx_futex, memory_order_acquire);
    /* relaxed: ordered by the fence below. */
    atomic_store_explicit(&r->rx_waiting, 1, memory_order_relaxed);
    /* seq_cst fence: our announcement before our check, against the
     * producer's commit before its look at rx_waiting (pc_shring_notify). */
    PC_SHRING_SC_FENCE();
    /* relaxed: the check after the fence; the receive re-reads with
     * acquire. */
    h = atomic_load_explicit(&r->head, memory_order_relaxed);
    c = atomic_load_explicit(pc_shring_ctrl_at(r, h), memory_order_relaxed);
    /* relaxed: hints, after the fence as the rest. */
    if (atomic_load_explicit(&r->handles_total, memory_order_relaxed) == 0 ||
        atomic_load_explicit(&r->rx_closed, memory_order_relaxed))
        return PC_PARK_WOKEN;
    if (pc_shring_is_for(c, h)) {
        if (pc_shring_state(c) == PC_SHRING_S_COMMITTED)
            return PC_PARK_WOKEN;
        /* Being written: its producer wakes us, unless it died, which we
         * notice only by looking again. */
        if (pc_shring_state(c) == PC_SHRING_S_RESERVED &&
            (timeout_ns < 0 || timeout_ns > PC_SHRING_STUCK_NS))
            timeout_ns = PC_SHRING_STUCK_NS;
    }
    return pc_park_wait(&r->rx_futex, seen, timeout_ns, true);
}

int pc_shring_wait_send(pc_shring_t *r, uint64_t len, int64_t timeout_ns)
{
    uint64_t n = pc_shring_cells_needed(len);
    pc_backoff_t backoff;
    uint32_t seen;

    pc_backoff_init(&backoff);
    while (!pc_backoff_is_completed(&backoff)) {
        if (pc_shring_room(r, n))
            return PC_PARK_WOKEN;
        pc_backoff_snooze(&backoff);
    }
    /* acquire: pairs with the consumer's release bump. */
    seen = atomic_load_explicit(&r->tx_futex, memory_order_acquire);
    /* relaxed: ordered by the fence below. */
    atomic_store_explicit(&r->tx_waiting, 1, memory_order_relaxed);
    /* seq_cst fence: as in pc_shring_wait_recv, against the consumer's
     * head store and look at tx_waiting. */
    PC_SHRING_SC_FENCE();
    if (pc_shring_room(r, n))
        return PC_PARK_WOKEN;
    return pc_park_wait(&r->tx_futex, seen, timeout_ns, true);
}
