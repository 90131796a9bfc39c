/*
 * pc_shring.h - a multi-producer, single-consumer ring of byte records in
 * memory shared between processes.
 *
 * The ring is an array of 64-byte cells, a power of two of them.  Every
 * cell starts with an 8-byte control word, which only atomic operations
 * touch; the other 56 bytes carry payload.  A record of len bytes takes
 * consecutive cells (wrapping at the end of the array): its first cell holds
 * its control word, its length (8 bytes) and 48 bytes of payload, each
 * further cell 56 more.  Positions are 64-bit cell counters that never wrap
 * in practice; a position's cell is position & (cells - 1).  Keeping the
 * control words out of the payload means that a producer looking at a
 * stale position reads a control word, never somebody's payload bytes: the
 * protocol is free of data races in the C11 sense (ThreadSanitizer runs it,
 * tests/c/validate_shring.c).
 *
 * The control word of a record's first cell says everything about it in
 * one atomic word:
 *
 *   bits 31..63  seq    the low 33 bits of the position it describes
 *   bits 10..30  n - 1  the record's length in cells
 *   bits  2.. 9  slot   the producer slot (process) that claimed it
 *   bits  0.. 1  state  FREE, RESERVED or COMMITTED
 *
 * (33 bits of position tell 2^33 / cells laps apart: 128 for the largest
 * ring, 2^19 for a 1 MiB one; a producer would have to stall between
 * reading the tail hint and its claim while the ring goes round that many
 * times for a stale claim to succeed.)
 *
 * Producers claim space with one compare-and-swap on that word, from
 * FREE(pos) to RESERVED(pos, n, slot), which is the idea of Dmitry Vyukov's
 * bounded MPMC queue (a per-cell sequence number makes the claim of a
 * stale position fail, so there is no ABA), applied to variable-length
 * records: because the claim itself records the length and the owner,
 * there is no instant at which space is reserved but its extent unknown,
 * and a producer killed at any point leaves a record the consumer can skip.
 * `tail` is only a hint of where the next free position is: a producer that
 * finds the hinted cell already claimed moves the hint past it (helping)
 * and tries again.  The consumer frees a record's cells by writing
 * FREE(pos + cells) into each of them (the value that makes each one
 * claimable on the next lap) before it publishes the new head.
 *
 * Commit: the producer copies its payload and stores COMMITTED with
 * release ordering; the consumer reads the control word with acquire.
 *
 * Dead producers: the consumer that finds the record at its head RESERVED
 * for longer than PC_SHRING_STUCK_NS checks whether the claiming slot's
 * process still lives (pc_ipc.h); if not, it frees the record's cells
 * unread, moves on and counts the skipped record and its bytes.
 *
 * Dead consumers: the consumer frees each record's cells as soon as it has
 * copied it, the first cell (the one with the record's control word) last,
 * and publishes the new head once per receive.  A consumer killed in
 * between leaves cells that hold FREE words of the *next* lap at and after
 * head.  No producer can claim them (they lie a full ring ahead of head),
 * so the next consumer, when it takes the receive lock over from a dead
 * holder, walks head forward over exactly those cells and publishes it; a
 * record whose first cell is still COMMITTED (its other cells possibly
 * freed: freeing writes only control words) is intact and received again.
 * The records the dead consumer had copied out are lost with it; the ring
 * is never wedged.
 *
 * Waiting: first a short spin-then-yield (pc_backoff_snooze), since the
 * other side is usually microseconds away; then two eventcounts on
 * process-shared futex words: the consumer sleeps on rx_futex, which
 * producers bump (and wake) after a commit when the consumer has announced
 * itself in rx_waiting; producers waiting for space sleep on tx_futex,
 * which the consumer bumps after freeing.  The announce/check pairs are
 * ordered by seq_cst fences on both sides (Dekker's pattern), so a wake-up
 * is never lost.  Producers are woken (all of them) only once a quarter of
 * the ring is free or the ring is empty, not on every freed record: waking
 * a herd of producers per record costs more than it moves.
 *
 * Producer slots: each process that holds senders registers a slot holding
 * its pid and the number of sender handles it holds; at most
 * PC_SHRING_SLOTS (256) processes hold Senders at once, over the life of a
 * channel any number.  The slot of a dead process is always reused, even
 * if it died in the middle of a send: the reuser records in `since` a
 * position past every record claimed until then (it moves the tail hint
 * past claimed records first), so a RESERVED record of that slot below
 * `since` belongs to a dead process and is skipped at once, and one at or
 * above it to the slot's present, live, owner.  The consumer's "every
 * sender is gone" is "no live slot holds a handle".
 *
 * Results are pc_status values (pc_status.h).
 */
#ifndef PC_SHRING_H
#define PC_SHRING_H

#include "pc_config.h"
#include "pc_ipc.h"
#include "pc_status.h"

#define PC_SHRING_CELL 64
#define PC_SHRING_CELL_DATA 56    /* a cell's payload bytes */
#define PC_SHRING_FIRST_DATA 48   /* in a record's first cell */
#define PC_SHRING_SLOTS 256
#define PC_SHRING_MAX_RECORD_CELLS (1u << 21)
#define PC_SHRING_MIN_CELLS 16
#define PC_SHRING_MAX_CELLS (1u << 26) /* 4 GiB of cells */
#define PC_SHRING_MAGIC 0x50434952494e4732ull /* "PCIRING2" */
/* How long a record may stay RESERVED before its producer is checked. */
#define PC_SHRING_STUCK_NS 20000000

/* pc_shring_try_recv's buffer is too small for the next record (lens[0]
 * says how large it must be): the caller grows it and tries again. */
#define PC_SHRING_TOO_SMALL PC_NOMEM

typedef struct pc_shring_slot {
    _Atomic uint32_t pid;      /* 0: free */
    _Atomic uint32_t handles;  /* sender handles held by that process */
    _Atomic uint64_t since;    /* records of this slot below: a dead owner's */
} pc_shring_slot_t;

typedef struct pc_shring {
    /* Constants, written before the ring is shared. */
    uint64_t magic;
    uint64_t cells;
    uint64_t id; /* tells rings apart that reuse an address */
    char pad0[PC_CACHELINE - 24];

    /* Written by producers. */
    _Atomic uint64_t tail; /* hint: a record boundary at or before the end */
    char pad1[PC_CACHELINE - 8];

    /* Written by the consumer (the fields after head under rx_lock). */
    _Atomic uint64_t head;
    _Atomic uint32_t rx_lock; /* pid of the process inside a receive */
    uint32_t pad2;
    uint64_t stuck_pos;       /* head at which a RESERVED record was seen */
    int64_t stuck_check_ns;   /* when to check its producer's liveness */
    _Atomic uint64_t skipped_records;
    _Atomic uint64_t skipped_bytes;
    char pad3[PC_CACHELINE - 48];

    /* The receive side, read by every send, written rarely: a line of its
     * own, so that the consumer's writes above do not evict it. */
    _Atomic uint32_t rx_pid;    /* process holding the receive side */
    _Atomic uint32_t rx_closed; /* receive side closed */
    char pad7[PC_CACHELINE - 8];

    /* The consumer's eventcount. */
    _Atomic uint32_t rx_futex;
    _Atomic uint32_t rx_waiting;
    char pad4[PC_CACHELINE - 8];

    /* The producers' eventcount (waiting for space). */
    _Atomic uint32_t tx_futex;
    _Atomic uint32_t tx_waiting;
    char pad5[PC_CACHELINE - 8];

    /* Sender handles in all slots, live or not (changed by clone/close,
     * read by a consumer that finds the ring empty). */
    _Atomic uint32_t handles_total;
    char pad6[PC_CACHELINE - 4];

    pc_shring_slot_t slots[PC_SHRING_SLOTS];
    /* the cells follow, at offset sizeof(pc_shring_t) */
} pc_shring_t;

/* Cells for a capacity of at least `capacity_bytes` (a power of two, at
 * least PC_SHRING_MIN_CELLS); 0 if it is more than PC_SHRING_MAX_CELLS. */
uint64_t pc_shring_cells_for(uint64_t capacity_bytes);
/* Bytes of shared memory a ring of `cells` cells needs. */
uint64_t pc_shring_bytes(uint64_t cells);
/* The largest payload a ring of `cells` cells accepts. */
uint64_t pc_shring_max_payload(uint64_t cells);
/* Lay out a ring in zeroed memory; `rx_pid` holds the receive side. */
void pc_shring_init(pc_shring_t *r, uint64_t cells, uint32_t rx_pid);
/* 0 if `size` bytes at r hold a ring made by pc_shring_init, else -1. */
int pc_shring_check(pc_shring_t *r, uint64_t size);
uint64_t pc_shring_cells(pc_shring_t *r);

/* Register one sender handle of process pid; the slot, or -1 if all
 * PC_SHRING_SLOTS slots belong to live processes (a dead process's slot is
 * reused, whatever it was doing when it died). */
int pc_shring_register(pc_shring_t *r, uint32_t pid);
/* Add `delta` (+1 or -1) handles to a slot, if it still belongs to pid.
 * Returns false if it does not. */
bool pc_shring_handles_add(pc_shring_t *r, int slot, uint32_t pid, int delta);
/* Sender handles held by live processes (alive: check each slot's pid,
 * one system call per slot in use); without `alive`, one load: all
 * handles, including those of dead processes. */
uint32_t pc_shring_senders(pc_shring_t *r, bool alive);

/* One attempt to send; never waits.  PC_OK, PC_FULL (no room now),
 * PC_CLOSED (the receive side is closed) or PC_INVALID (larger than
 * pc_shring_max_payload). */
pc_status pc_shring_try_send(pc_shring_t *r, int slot, const char *data, uint64_t len);
#ifdef PC_TEST_HOOKS
/* Test hooks (built with -DPC_TEST_HOOKS: the C validate programs and the
 * test builds of the extension, never a wheel).
 * Claim a record of len bytes, write half of it and never commit it: what
 * a producer killed in the middle of a send leaves. */
pc_status pc_shring_debug_abandon(pc_shring_t *r, int slot, uint64_t len);
/* Receive as process pid, but stop after freeing the cells of `records`
 * records (the last one's first cell only if `first`), without publishing
 * head: what a consumer killed in the middle of a receive leaves (it then
 * gives the receive lock to `dead_pid`). */
void pc_shring_debug_die_in_recv(pc_shring_t *r, uint32_t dead_pid, int64_t records,
                                 bool first);
#endif

/* Up to maxn records into buf (bufsize bytes), their lengths into lens,
 * their number into *count: PC_OK (*count >= 1), PC_EMPTY, PC_BUSY
 * (another process or thread is receiving) or PC_SHRING_TOO_SMALL
 * (lens[0] is the size the next record needs).  Skips (and counts)
 * records whose producer died before committing them. */
pc_status pc_shring_try_recv(pc_shring_t *r, uint32_t pid, char *buf, uint64_t bufsize,
                             int64_t *lens, int64_t maxn, int64_t *count);

/* True if no record is waiting or being written (a snapshot). */
bool pc_shring_is_empty(pc_shring_t *r);
/* Records waiting (committed or being written), a snapshot; walks them. */
uint64_t pc_shring_len(pc_shring_t *r);

/* The receive side: who holds it, closing it, and whether it is gone
 * (closed, or its process dead: one system call). */
void pc_shring_set_receiver(pc_shring_t *r, uint32_t pid);
uint32_t pc_shring_receiver(pc_shring_t *r);
void pc_shring_close_receiver(pc_shring_t *r);
bool pc_shring_receiver_gone(pc_shring_t *r, bool check_alive);
/* out[0..3]: skipped records, skipped bytes, head, tail. */
void pc_shring_stats(pc_shring_t *r, uint64_t *out);

/* Blocking: wait at most timeout_ns until the record at the head may be
 * ready (or the receive side is closed), or, for a sender, until a record
 * of len bytes may fit.  May return early; callers re-check.  Call without
 * the GIL.  Return PC_PARK_TIMEDOUT or PC_PARK_WOKEN. */
int pc_shring_wait_recv(pc_shring_t *r, int64_t timeout_ns);
int pc_shring_wait_send(pc_shring_t *r, uint64_t len, int64_t timeout_ns);

#endif /* PC_SHRING_H */
