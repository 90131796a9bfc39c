/*
 * pc_ipc.h - facts about other processes, for primitives in shared memory.
 *
 * A primitive shared between processes records the process ids of its
 * holders (the owner of a robust spin lock, the producers of a shared
 * ring) so that a survivor can tell when one of them has died.  The test
 * is the POSIX one, kill(pid, 0) failing with ESRCH, plus, on Linux, a look
 * at /proc/<pid>/stat: a killed child that its parent has not reaped yet is
 * a zombie, which kill() still reports as existing, but which will never
 * run again.
 *
 * Limits, inherent in naming processes by id:
 *   - pid reuse: once a dead process's id is given to a new process, the
 *     dead one looks alive again, and whatever waits on it waits (until its
 *     timeout).  Linux hands out ids in increasing order up to pid_max
 *     (4,194,304 by default on 64-bit systems) before reusing them, so this
 *     takes millions of process creations in between.
 *   - pid namespaces: processes in different pid namespaces (containers)
 *     sharing memory see each other's ids wrongly; do not share these
 *     primitives across namespaces.
 *   - Windows: no liveness test; every process counts as alive.
 */
#ifndef PC_IPC_H
#define PC_IPC_H

#include "pc_config.h"

/* Process ids fit in 30 bits (Linux's PID_MAX_LIMIT is 2^22; macOS's is
 * 99,999), which leaves the top two bits of a 32-bit word for flags. */
#define PC_IPC_PID_MASK 0x3fffffffu

/* True if process `pid` exists and is not a zombie.  Never waits (one or
 * two system calls).  pid 0 counts as dead. */
bool pc_ipc_pid_alive(uint32_t pid);

/*
 * A table of the processes using a shared object: one 64-bit word per
 * process, its pid in the high half and its count of references in the low
 * half, so that an entry is claimed, counted and handed over with single
 * atomic operations.  Entries of dead processes are reused, and their
 * references do not count: an object shared with a process that was killed
 * can still be found unused.
 */
typedef struct pc_ipc_user {
    _Atomic uint64_t word; /* pid << 32 | count; 0: free */
} pc_ipc_user_t;

/*
 * Add delta (positive or negative) to process pid's count, claiming an
 * entry for it if it has none and delta > 0.  Returns false if pid has no
 * entry (delta < 0) or the table is full (delta > 0).
 */
bool pc_ipc_users_add(pc_ipc_user_t *table, uint32_t n, uint32_t pid, int32_t delta);

/* References held by live processes (one liveness check per entry in use). */
uint32_t pc_ipc_users_live(pc_ipc_user_t *table, uint32_t n);

#endif /* PC_IPC_H */
