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
