/*
 * pyconc.h - the front header: every primitive of the C core.
 *
 * Defaults, and why:
 *   spin lock  pc_spin (test-and-test-and-set, backoff, then futex park).
 *              Plain test-and-set loses to it under contention because
 *              every waiter's failed exchange takes the line exclusive; a
 *              ticket lock is fair but parks badly (each waiter needs its
 *              own turn to be woken), and fairness matters less here than
 *              never burning a core.
 */
#ifndef PYCONC_H
#define PYCONC_H

#include "pc_config.h"
#include "pc_atomic.h"
#include "pc_backoff.h"
#include "pc_park.h"
#include "pc_spin.h"
#include "pc_cbench.h"

#endif /* PYCONC_H */
