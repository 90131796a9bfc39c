/*
 * validate_shring.c - pc_shring: producers in threads, one consumer; a
 * small ring so that records wrap and the ring fills; variable record
 * sizes; batch receives.  Checks exact totals, per-producer order, every
 * byte of every record, and that a record abandoned by a dead producer is
 * skipped and counted.
 */
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PRODUCERS 4
#define CELLS 64 /* 4 KiB: wraps and fills constantly */

static pc_shring_t *ring;
static long per_producer;
static uint32_t me, dead_pid;
static int slot, dead_slot;

static uint32_t size_of(int p, long i)
{
    return (uint32_t)(16 + (i * 7 + p * 13) % 300); /* 16 .. 315 bytes */
}

static void fill(unsigned char *rec, int p, long i, uint32_t len)
{
    memcpy(rec, &p, 4);
    memcpy(rec + 4, &i, 8);
    memcpy(rec + 12, &len, 4);
    for (uint32_t k = 16; k < len; k++)
        rec[k] = (unsigned char)(p * 31 + i + k);
}

static void produce(int p)
{
    unsigned char rec[512];
    for (long i = 0; i < per_producer; i++) {
        uint32_t len = size_of(p, i);
        fill(rec, p, i, len);
        if (p == 0 && i == per_producer / 2) {
            /* A producer that dies between claiming and committing. */
            while (pc_shring_debug_abandon(ring, dead_slot, 200) == PC_FULL)
                pc_shring_wait_send(ring, 200, 1000000);
        }
        for (;;) {
            pc_status rc = pc_shring_try_send(ring, slot, (const char *)rec, len);
            if (rc == PC_OK)
                break;
            PC_CHECK(rc == PC_FULL, "send failed: %d", (int)rc);
            pc_shring_wait_send(ring, len, 1000000);
        }
    }
    pc_shring_handles_add(ring, slot, me, -1);
}

static void consume(void)
{
    static char buf[8192];
    int64_t lens[8];
    long next[PRODUCERS] = {0}, total = 0;
    unsigned batch = 1;
    while (total < PRODUCERS * per_producer) {
        int64_t got = 0;
        pc_status st = pc_shring_try_recv(ring, me, buf, sizeof buf, lens, batch, &got);
        batch = batch % 8 + 1;
        if (st == PC_EMPTY) {
            pc_shring_wait_recv(ring, 1000000);
            continue;
        }
        PC_CHECK(st == PC_OK && got >= 1, "receive failed: %d", (int)st);
        char *at = buf;
        for (int64_t k = 0; k < got; k++) {
            unsigned char expect[512];
            int p;
            long i;
            uint32_t len;
            memcpy(&p, at, 4);
            memcpy(&i, at + 4, 8);
            memcpy(&len, at + 12, 4);
            PC_CHECK(p >= 0 && p < PRODUCERS, "bad producer %d", p);
            PC_CHECK(i == next[p], "producer %d: got %ld, expected %ld", p, i, next[p]);
            PC_CHECK(len == size_of(p, i) && (int64_t)len == lens[k],
                     "producer %d record %ld: length %u / %lld", p, i, len,
                     (long long)lens[k]);
            fill(expect, p, i, len);
            PC_CHECK(memcmp(expect, at, len) == 0, "producer %d record %ld: bytes differ", p, i);
            next[p]++;
            total++;
            at += len;
        }
    }
}

static void body(int t, void *arg)
{
    (void)arg;
    if (t == PRODUCERS)
        consume();
    else
        produce(t);
}

int main(void)
{
    uint64_t size = pc_shring_bytes(CELLS), stats[4];
    pid_t child;
    per_producer = pc_scaled(20000);
    ring = aligned_alloc(PC_CACHELINE, size);
    PC_CHECK(ring != NULL, "out of memory");
    memset(ring, 0, size);
    me = (uint32_t)getpid();
    pc_shring_init(ring, CELLS, me);
    PC_CHECK(pc_shring_check(ring, size) == 0, "check refused a new ring");
    /* A process id that is certainly dead: a child, exited and reaped. */
    child = fork();
    if (child == 0)
        _exit(0);
    PC_CHECK(child > 0 && waitpid(child, NULL, 0) == child, "fork failed");
    dead_pid = (uint32_t)child;
    PC_CHECK(!pc_ipc_pid_alive(dead_pid), "a reaped child looks alive");
    PC_CHECK(pc_ipc_pid_alive(me), "this process looks dead");
    slot = pc_shring_register(ring, me);
    for (int p = 1; p < PRODUCERS; p++)
        PC_CHECK(pc_shring_register(ring, me) == slot, "one slot per process");
    dead_slot = pc_shring_register(ring, dead_pid);
    PC_CHECK(slot >= 0 && dead_slot >= 0 && dead_slot != slot, "register failed");
    pc_run_threads(PRODUCERS + 1, body, NULL);
    pc_shring_stats(ring, stats);
    PC_CHECK(stats[0] == 1, "skipped %llu records, expected the 1 abandoned",
             (unsigned long long)stats[0]);
    PC_CHECK(pc_shring_is_empty(ring) && pc_shring_len(ring) == 0, "ring not empty");
    PC_CHECK(pc_shring_senders(ring, false) == 1, "handles: %u (the dead slot's 1 expected)",
             pc_shring_senders(ring, false));
    PC_CHECK(pc_shring_senders(ring, true) == 0, "a dead slot counted as a live sender");
    /* A consumer killed in the middle of a receive (after freeing a whole
     * record, then all of the next but its first cell, or all of it): the
     * next receiver takes over and goes on from the first record not
     * wholly freed. */
    for (int first = 0; first < 2; first++) {
        static char buf[4096];
        int64_t lens[8], got = 0;
        for (int k = 0; k < 3; k++) {
            char rec[200];
            memset(rec, 'a' + k, sizeof rec);
            PC_CHECK(pc_shring_try_send(ring, slot, rec, sizeof rec) == PC_OK, "send");
        }
        pc_shring_debug_die_in_recv(ring, dead_pid, 1, first);
        PC_CHECK(pc_shring_try_recv(ring, me, buf, sizeof buf, lens, 8, &got) == PC_OK,
                 "no receive after a dead consumer");
        PC_CHECK(got == (first ? 1 : 2) && buf[0] == (first ? 'c' : 'b'),
                 "after a dead consumer (first=%d): %lld records from '%c'", first,
                 (long long)got, buf[0]);
        PC_CHECK(pc_shring_is_empty(ring), "ring not empty after recovery");
    }
    /* Too big, and a closed receiver. */
    PC_CHECK(pc_shring_try_send(ring, slot, "x", pc_shring_max_payload(CELLS) + 1) ==
                 PC_INVALID, "oversized record accepted");
    pc_shring_close_receiver(ring);
    PC_CHECK(pc_shring_try_send(ring, slot, "x", 1) == PC_CLOSED,
             "send after close");
    printf("validate_shring: %d producers x %ld records through %d cells, 1 abandoned record skipped\n",
           PRODUCERS, per_producer, CELLS);
    free(ring);
    return 0;
}
