/*
 * pc_platform.c - yield, clock and process id for each operating system.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "pc_config.h"

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

void pc_thread_yield(void)
{
    SwitchToThread();
}

int64_t pc_now_ns(void)
{
    static LARGE_INTEGER freq; /* written once; the race is benign (same value) */
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    /* Split to avoid overflowing 64 bits on long uptimes. */
    return (int64_t)(now.QuadPart / freq.QuadPart) * 1000000000 +
           (int64_t)(now.QuadPart % freq.QuadPart) * 1000000000 / freq.QuadPart;
}

uint32_t pc_process_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}

uint32_t pc_cpu_count(void)
{
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? (uint32_t)n : 1;
}

#else
#include <sched.h>
#include <time.h>
#include <unistd.h>

void pc_thread_yield(void)
{
    sched_yield();
}

int64_t pc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint32_t pc_process_id(void)
{
    return (uint32_t)getpid();
}

uint32_t pc_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}
#endif
