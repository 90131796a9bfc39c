/*
 * pc_ipc.c - process liveness (see pc_ipc.h).
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "pc_ipc.h"

#ifdef _WIN32

bool pc_ipc_pid_alive(uint32_t pid)
{
    return pid != 0;
}

#else
#include <errno.h>
#include <signal.h>
#include <sys/types.h>

#if defined(__linux__)
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* True if /proc says the process is a zombie ('Z') or dead ('X'). */
static bool pc_ipc_pid_defunct(uint32_t pid)
{
    char path[40], buf[512];
    const char *close_paren;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT; /* gone between kill() and open() */
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may itself contain ") ", so take the last. */
    close_paren = strrchr(buf, ')');
    if (close_paren == NULL || close_paren[1] != ' ')
        return false;
    return close_paren[2] == 'Z' || close_paren[2] == 'X';
}
#endif

bool pc_ipc_pid_alive(uint32_t pid)
{
    if (pid == 0 || pid > PC_IPC_PID_MASK)
        return false;
    if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
        return false; /* EPERM: it exists but belongs to someone else */
#if defined(__linux__)
    if (pc_ipc_pid_defunct(pid))
        return false;
#endif
    return true;
}
#endif

/* ------------------------------------------------------------- user table */

#define PC_IPC_USER(pid, count) (((uint64_t)(pid) << 32) | (uint32_t)(count))

bool pc_ipc_users_add(pc_ipc_user_t *table, uint32_t n, uint32_t pid, int32_t delta)
{
    for (uint32_t i = 0; i < n; i++) {
        /* relaxed: validated by the CAS. */
        uint64_t w = atomic_load_explicit(&table[i].word, memory_order_relaxed);
        while ((uint32_t)(w >> 32) == pid && w != 0) {
            uint32_t count = (uint32_t)w;
            uint32_t next = delta < 0 && (uint32_t)-delta > count ? 0 : count + (uint32_t)delta;
            /* acq_rel: a count that drops is the last act of a user (its
             * writes happen before the release); one that rises must not
             * be reordered before the attach that led to it.  An entry
             * whose count reaches zero is freed. */
            if (atomic_compare_exchange_weak_explicit(&table[i].word, &w,
                                                      next ? PC_IPC_USER(pid, next) : 0,
                                                      memory_order_acq_rel,
                                                      memory_order_relaxed))
                return true;
        }
    }
    if (delta <= 0)
        return false;
    /* No entry: claim a free one, else one of a dead process. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < n; i++) {
            /* relaxed: validated by the CAS. */
            uint64_t w = atomic_load_explicit(&table[i].word, memory_order_relaxed);
            if (pass == 0 ? w != 0 : (w == 0 || pc_ipc_pid_alive((uint32_t)(w >> 32))))
                continue;
            /* acq_rel: as above. */
            if (atomic_compare_exchange_strong_explicit(
                    &table[i].word, &w, PC_IPC_USER(pid, (uint32_t)delta),
                    memory_order_acq_rel, memory_order_relaxed))
                return true;
        }
    }
    return false;
}

uint32_t pc_ipc_users_live(pc_ipc_user_t *table, uint32_t n)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* acquire: pairs with the release of a dropping count. */
        uint64_t w = atomic_load_explicit(&table[i].word, memory_order_acquire);
        if ((uint32_t)w != 0 && pc_ipc_pid_alive((uint32_t)(w >> 32)))
            total += (uint32_t)w;
    }
    return total;
}
