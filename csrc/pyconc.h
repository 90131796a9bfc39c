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
 *   channels   pc_chan over pc_mpsc (Vyukov's node queue: one exchange per
 *              send, no read-modify-write when receiving) for channel(),
 *              pc_ring (Vyukov's bounded queue, one consumer) for
 *              sync_channel().  A node queue rather than crossbeam's
 *              block list: simpler, wait-free for senders, and its cost,
 *              one allocation per value, is small beside a Python call.
 *   Mutex      pc_spin plus a poison flag (pc_mutex.h): the spin-then-park
 *              lock measured fastest for short Python critical sections.
 *   RwLock     Rust's futex RwLock (writers preferred), Condvar Rust's
 *              futex sequence counter, Once a four-state futex word.
 *   waits      spin for a window before parking, and take the GIL back
 *              when it is likely free (pc_handoff.h), with a GIL only.
 *   shared     pc_rspin for a spin lock in memory shared between processes
 *   spin lock  (the owner's pid in the lock word, so that a dead owner is
 *              detected), pc_spin everywhere else: the pid costs nothing
 *              on the fast path, but liveness checks do on the slow one.
 */
#ifndef PYCONC_H
#define PYCONC_H

#include "pc_config.h"
#include "pc_status.h"
#include "pc_atomic.h"
#include "pc_backoff.h"
#include "pc_park.h"
#include "pc_handoff.h"
#include "pc_spin.h"
#include "pc_mutex.h"
#include "pc_condvar.h"
#include "pc_rwlock.h"
#include "pc_once.h"
#include "pc_barrier.h"
#include "pc_parker.h"
#include "pc_sem.h"
#include "pc_waitgroup.h"
#include "pc_bcast.h"
#include "pc_ipc.h"
#include "pc_rspin.h"
#include "pc_shring.h"
#include "pc_cbench.h"
#include "pc_mpsc.h"
#include "pc_ring.h"
#include "pc_chan.h"
#include "pc_select.h"
#include "pc_qbench.h"

#endif /* PYCONC_H */
