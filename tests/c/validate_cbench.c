/*
 * validate_cbench.c - the C-only benchmark loops that the shipped module
 * keeps for `python -m pyconc bench` (pc_cbench.h, pc_qbench.h): each
 * kind, with 1 and 4 threads, must return a time and an exact count.  On
 * Windows (make cwine) this runs the OS baseline's SRWLOCK and the
 * CreateThread start of pc_cbench.c and pc_qbench.c, which no other
 * program reaches.
 */
#include "harness.h"

int main(void)
{
    static const int kinds[] = {PC_CBENCH_SPIN, PC_CBENCH_OS_MUTEX, PC_CBENCH_FETCH_ADD};
    static const int qkinds[] = {PC_QBENCH_MPSC, PC_QBENCH_RING};
    long n = pc_scaled(20000);
    pc_watchdog("validate_cbench: a benchmark loop hung (lost wake-up or a broken count)\n", 120);
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int t = 1; t <= 4; t *= 4)
            PC_CHECK(pc_cbench_run(kinds[k], t, n) > 0, "pc_cbench_run(%d, %d) failed", kinds[k], t);
    for (unsigned k = 0; k < sizeof qkinds / sizeof qkinds[0]; k++)
        for (int p = 1; p <= 2; p++)
            PC_CHECK(pc_qbench_run(qkinds[k], p, n) > 0, "pc_qbench_run(%d, %d) failed: a value lost, duplicated or reordered", qkinds[k], p);
    PC_CHECK(pc_cbench_run(99, 1, 10) == -1 && pc_qbench_run(99, 1, 10) == -1, "bad kinds accepted");
    printf("validate_cbench: OK (spin, OS mutex, fetch_add at 1 and 4 threads; mpsc and ring at 1 and 2 producers; %ld each)\n", n);
    return 0;
}
