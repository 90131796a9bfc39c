/*
 * pc_park.c - futex-style wait and wake for each operating system.
 * See pc_park.h for the contract.
 */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall() */
#endif

#include "pc_park.h"

#if defined(__linux__) && !defined(PC_PARK_POLL)
/* ------------------------------------------------------------------ Linux */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int pc_park_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns,
                 bool shared)
{
    struct timespec ts, *tsp = NULL;
    int op = FUTEX_WAIT | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tsp = &ts; /* FUTEX_WAIT takes a relative timeout */
    }
    if (syscall(SYS_futex, (uint32_t *)addr, op, expected, tsp, NULL, 0) == -1) {
        if (errno == ETIMEDOUT)
            return PC_PARK_TIMEDOUT;
        if (errno == EINTR)
            return PC_PARK_INTERRUPTED;
    }
    /* 0 or EAGAIN (value already changed): re-check. */
    return PC_PARK_WOKEN;
}

static void pc_park_wake(_Atomic uint32_t *addr, int n, bool shared)
{
    int op = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    syscall(SYS_futex, (uint32_t *)addr, op, n, NULL, NULL, 0);
}

void pc_park_wake_one(_Atomic uint32_t *addr, bool shared)
{
    pc_park_wake(addr, 1, shared);
}

void pc_park_wake_all(_Atomic uint32_t *addr, bool shared)
{
    pc_park_wake(addr, 0x7fffffff, shared);
}

const char *pc_park_backend(void)
{
    return "futex";
}

#elif defined(__APPLE__) && !defined(PC_PARK_POLL)
/* ------------------------------------------------------------------ macOS */
/*
 * __ulock_wait/__ulock_wake: the address-wait of Darwin's kernel since
 * 10.12, used by libc++'s std::atomic::wait and by Rust's std.  Not in the
 * public SDK headers, hence the declarations; os_sync_wait_on_address
 * (macOS 14.4) is the public wrapper of the same call.
 * Untested on this project's Linux machines.
 */
#include <errno.h>
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value,
                        uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
#define PC_UL_COMPARE_AND_WAIT 1
#define PC_UL_COMPARE_AND_WAIT_SHARED 3
#define PC_ULF_WAKE_ALL 0x00000100

int pc_park_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns,
                 bool shared)
{
    uint32_t op = shared ? PC_UL_COMPARE_AND_WAIT_SHARED : PC_UL_COMPARE_AND_WAIT;
    uint32_t us = 0; /* 0: no limit */
    if (timeout_ns >= 0) {
        int64_t t = (timeout_ns + 999) / 1000;
        us = t < 1 ? 1 : (t > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)t);
    }
    if (__ulock_wait(op, (void *)addr, expected, us) < 0) {
        if (errno == ETIMEDOUT)
            return PC_PARK_TIMEDOUT;
        if (errno == EINTR)
            return PC_PARK_INTERRUPTED;
    }
    return PC_PARK_WOKEN;
}

void pc_park_wake_one(_Atomic uint32_t *addr, bool shared)
{
    uint32_t op = shared ? PC_UL_COMPARE_AND_WAIT_SHARED : PC_UL_COMPARE_AND_WAIT;
    __ulock_wake(op, (void *)addr, 0);
}

void pc_park_wake_all(_Atomic uint32_t *addr, bool shared)
{
    uint32_t op = shared ? PC_UL_COMPARE_AND_WAIT_SHARED : PC_UL_COMPARE_AND_WAIT;
    __ulock_wake(op | PC_ULF_WAKE_ALL, (void *)addr, 0);
}

const char *pc_park_backend(void)
{
    return "ulock";
}

#elif defined(_WIN32) && !defined(PC_PARK_POLL)
/* ---------------------------------------------------------------- Windows */
/*
 * WaitOnAddress works only between threads of one process; a shared wait
 * falls back to a short sleep, and wakers of shared words have nothing to
 * signal.  Untested on this project's Linux machines.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

int pc_park_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns,
                 bool shared)
{
    DWORD ms = INFINITE;
    if (timeout_ns >= 0) {
        int64_t t = (timeout_ns + 999999) / 1000000;
        ms = t >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)t;
    }
    if (shared) {
        if (atomic_load_explicit(addr, memory_order_relaxed) != expected)
            return PC_PARK_WOKEN;
        Sleep(ms < 1 ? ms : 1);
        return ms <= 1 ? PC_PARK_TIMEDOUT : PC_PARK_WOKEN;
    }
    if (!WaitOnAddress((volatile VOID *)addr, &expected, sizeof expected, ms) &&
        GetLastError() == ERROR_TIMEOUT)
        return PC_PARK_TIMEDOUT;
    return PC_PARK_WOKEN;
}

void pc_park_wake_one(_Atomic uint32_t *addr, bool shared)
{
    if (!shared)
        WakeByAddressSingle((PVOID)addr);
}

void pc_park_wake_all(_Atomic uint32_t *addr, bool shared)
{
    if (!shared)
        WakeByAddressAll((PVOID)addr);
}

const char *pc_park_backend(void)
{
    return "WaitOnAddress";
}

#else
/* --------------------------------------------------------------- fallback */
/*
 * No address-wait: poll with a growing sleep (50 us up to 1 ms).  Correct,
 * since callers re-check; wake-ups are late by up to a millisecond.
 * Define PC_PARK_POLL to use it anywhere (the validate suite does, so that
 * this path is tested on Linux too).
 */
#include <time.h>

int pc_park_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns,
                 bool shared)
{
    int64_t deadline = timeout_ns >= 0 ? pc_now_ns() + timeout_ns : INT64_MAX;
    int64_t nap = 50000;
    (void)shared;
    /* relaxed: only a hint to stop sleeping; the caller re-checks with
     * the ordering it needs. */
    while (atomic_load_explicit(addr, memory_order_relaxed) == expected) {
        int64_t left = deadline - pc_now_ns();
        struct timespec ts;
        if (left <= 0)
            return PC_PARK_TIMEDOUT;
        if (nap > left)
            nap = left;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)nap;
        nanosleep(&ts, NULL);
        if (nap < 1000000)
            nap *= 2;
    }
    return PC_PARK_WOKEN;
}

void pc_park_wake_one(_Atomic uint32_t *addr, bool shared)
{
    (void)addr;
    (void)shared;
}

void pc_park_wake_all(_Atomic uint32_t *addr, bool shared)
{
    (void)addr;
    (void)shared;
}

const char *pc_park_backend(void)
{
    return "poll";
}
#endif
