/*
 * pyglue/pc_bcast_py.h - pyconc.broadcast's handles, BroadcastSender and
 * BroadcastReceiver, as C types (CPython C API; included by
 * pc_py_module.h only).
 *
 * Every handle of one channel points at one hidden state object (a GC
 * type of its own, never exposed) that embeds the pc_bcast_t of pc_bcast.h
 * (the senders' lock, tail, counts, futex word) and the ring: `cap` slots,
 * each the value sent at some position and that position + 1 (0: never
 * written).  A receiver at `pos` tells by the slot's position alone whether
 * its value is there (equal), not yet sent (smaller) or already
 * overwritten (larger: it lagged).  No address reaches Python; the state
 * lives as long as a handle does.
 *
 * A send is one C call: take the senders' lock (pc_py_wait when another
 * sender holds it: try without waiting, park in pc_spin's timed lock, which
 * may take it), store the slot, publish and unlock (pc_bcast_send_end), and
 * only then release the value the slot held (its finaliser may run Python
 * code, even a send on this channel).  Nothing between lock and unlock can
 * raise.  A receive of a value already sent is one C call that takes no
 * lock; a receive that must wait registers with pc_bcast_prepare, re-checks
 * its slot and parks on the futex word through pc_py_wait.
 *
 * asyncio receivers (pyconc/broadcast.py, pyglue/pc_async_py.h) register
 * in the state's pc_async list (async_rx) and count themselves in
 * async_waiters; a send that finds asyncio receivers counted
 * (pc_bcast_send_end's ~n) fires them all, outside the lock, without a
 * Python call: their event loops are woken through their fds.
 *
 * What protects the state without the GIL (free-threaded builds): the
 * counters, tail and futex word are pc_bcast.h's atomics; the asyncio
 * list is pc_async.h's (a spin lock); the slots are read and written inside
 * a critical section on the state object (PC_BCAST_PY_BEGIN/END), so that a receiver never takes a
 * reference to a value a sender is replacing; a receiver's position is its
 * own (one thread at a time), updated inside the same critical section.
 * With the GIL the GIL does all that.
 *
 * Length: four C types over one state (the state, Sender, Receiver,
 * WeakSender) sharing the slot ring and its release rule (tokio's rem
 * counts); splitting them would put the rule in two places.
 */
#ifndef PC_BCAST_PY_H
#define PC_BCAST_PY_H

#include "pc_async.h"
#include "pc_bcast.h"

#include <stdio.h>

#include <structmember.h>

#ifdef Py_GIL_DISABLED
#define PC_BCAST_PY_BEGIN(st) Py_BEGIN_CRITICAL_SECTION((PyObject *)(st))
#define PC_BCAST_PY_END() Py_END_CRITICAL_SECTION()
#else
#define PC_BCAST_PY_BEGIN(st) {
#define PC_BCAST_PY_END() }
#endif

typedef struct {
    _Atomic uint64_t seq; /* position + 1 of the value held; 0: none yet */
    PyObject *value;      /* NULL once every receiver counted has read it */
    uint64_t rem;         /* receivers that may still read it (tokio's rem):
                           * set by the send, counted down by each read and
                           * by each counted receiver that leaves unread;
                           * at 0 the value is released.  Changed only in
                           * the state's critical section. */
} pc_bcast_py_slot;

typedef struct {
    PyObject_HEAD
    pc_bcast_t b;
    uint64_t cap;
    pc_bcast_py_slot *slots;
    /* -- asyncio receivers waiting (pc_async.h; pyglue/pc_async_py.h) */
    pc_async_list_t async_rx;
} pc_bcast_py_state;

typedef struct {
    PyObject_HEAD
    pc_bcast_py_state *st; /* strong; set in construction, never changed */
    _Atomic uint32_t closed;
    uint64_t pos; /* receiver: the next position to read */
    PyObject *weakrefs;
} pc_bcast_py_handle;

static PyTypeObject *pc_bcast_py_State;
static PyTypeObject *pc_bcast_py_Sender;
static PyTypeObject *pc_bcast_py_Receiver;
static PyTypeObject *pc_bcast_py_WeakSender;
static PyObject *pc_bcast_py_Closed;

/* ----------------------------------------------------------------- state */

static int pc_bcast_py_state_traverse(pc_bcast_py_state *self, visitproc visit, void *arg)
{
    uint64_t i;
    Py_VISIT(Py_TYPE(self));
    if (self->slots != NULL)
        for (i = 0; i < self->cap; i++)
            Py_VISIT(self->slots[i].value);
    return 0;
}

static int pc_bcast_py_state_clear(pc_bcast_py_state *self)
{
    uint64_t i;
    if (self->slots != NULL) {
        for (i = 0; i < self->cap; i++) {
            /* Only the collector runs: a slot left without a value reads
             * as "not sent" to a receiver (pc_bcast_py_poll checks), and
             * the receivers of an unreachable channel never look. */
            Py_CLEAR(self->slots[i].value);
        }
    }
    return 0;
}

static void pc_bcast_py_state_dealloc(pc_bcast_py_state *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pc_bcast_py_state_clear(self);
    /* No coroutine waits in closed_async(): each holds a reference. */
    pc_bcast_destroy(&self->b);
    PyMem_Free(self->slots);
    self->slots = NULL;
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyType_Slot pc_bcast_py_state_slots[] = {
    {Py_tp_doc, "The state shared by the handles of one pyconc.broadcast channel."},
    {Py_tp_dealloc, (void *)pc_bcast_py_state_dealloc},
    {Py_tp_traverse, (void *)pc_bcast_py_state_traverse},
    {Py_tp_clear, (void *)pc_bcast_py_state_clear},
    {0, NULL},
};

static PyType_Spec pc_bcast_py_state_spec = {
    "pyconc.broadcast._State", sizeof(pc_bcast_py_state), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_bcast_py_state_slots};

/* Fire every asyncio receiver registered (outside the senders' lock; no
 * Python call, no GIL needed: pc_async.h). */
static void pc_bcast_py_wake_async(pc_bcast_py_state *st)
{
    (void)pc_async_list_wake(&st->async_rx, PC_ASYNC_ALL);
}

/* --------------------------------------------------------------- handles */

static PyObject *pc_bcast_py_new_handle(PyTypeObject *type, pc_bcast_py_state *st,
                                        uint64_t pos)
{
    pc_bcast_py_handle *h = PyObject_GC_New(pc_bcast_py_handle, type);
    if (h == NULL)
        return NULL;
    Py_INCREF(st);
    h->st = st;
    h->pos = pos;
    h->weakrefs = NULL;
    /* relaxed: the handle is not shared yet. */
    atomic_store_explicit(&h->closed, 0, memory_order_relaxed);
    PyObject_GC_Track(h);
    return (PyObject *)h;
}

static int pc_bcast_py_traverse(pc_bcast_py_handle *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->st);
    return 0;
}

static int pc_bcast_py_is_closed(pc_bcast_py_handle *self)
{
    /* relaxed: a use-after-close check; close() itself is the exchange. */
    return atomic_load_explicit(&self->closed, memory_order_relaxed) != 0;
}

static int pc_bcast_py_open(pc_bcast_py_handle *self, const char *what)
{
    if (PC_UNLIKELY(pc_bcast_py_is_closed(self))) {
        char msg[64];
        snprintf(msg, sizeof msg, "this %s is closed", what);
        pc_py_raise(PC_HANDLE_CLOSED, msg);
        return 0;
    }
    return 1;
}

static PyObject *pc_bcast_py_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *pc_bcast_py_no_copy(PyObject *self, PyObject *unused)
{
    (void)unused;
    PyErr_Format(PyExc_TypeError,
                 "a %.100s cannot be copied or pickled: a broadcast channel lives "
                 "in this process's memory (use clone() for another sender, "
                 "subscribe() or resubscribe() for another receiver)",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyObject *pc_bcast_py_no_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    PyErr_Format(PyExc_TypeError,
                 "cannot create '%.100s' instances directly; use pyconc.broadcast()",
                 type->tp_name);
    return NULL;
}

/* _async_waiting() -> int: asyncio receivers registered (for tests). */
static PyObject *pc_bcast_py_async_waiting(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(pc_async_waiting(&self->st->async_rx));
}

/* ----------------------------------------------------------------- sender */

/* The senders' lock for pc_py_wait: try without waiting; park in the timed
 * lock, which may take it (then the wait is over). */
typedef struct {
    pc_bcast_t *b;
    int64_t pos; /* the position to store at, once locked */
} pc_bcast_py_lock_op;

static pc_status pc_bcast_py_lock_result(pc_bcast_py_lock_op *op, int64_t r)
{
    if (r == PC_BCAST_BUSY)
        return PC_AGAIN;
    if (r == PC_BCAST_NO_RECEIVERS)
        return PC_CLOSED;
    op->pos = r;
    return PC_OK;
}

static pc_status pc_bcast_py_lock_try(void *arg)
{
    pc_bcast_py_lock_op *op = (pc_bcast_py_lock_op *)arg;
    return pc_bcast_py_lock_result(op, pc_bcast_send_begin(op->b));
}

static pc_status pc_bcast_py_lock_park(void *arg, int64_t slice_ns)
{
    pc_bcast_py_lock_op *op = (pc_bcast_py_lock_op *)arg;
    return pc_bcast_py_lock_result(op, pc_bcast_send_lock(op->b, slice_ns));
}

/* send(value) -> int */
static PyObject *pc_bcast_py_send(pc_bcast_py_handle *self, PyObject *value)
{
    pc_bcast_py_state *st = self->st;
    pc_bcast_py_lock_op op = {&st->b, 0};
    pc_bcast_py_slot *slot;
    PyObject *old;
    pc_status s;
    int64_t n;
    if (!pc_bcast_py_open(self, "sender"))
        return NULL;
    s = pc_bcast_py_lock_try(&op);
    if (PC_UNLIKELY(s == PC_AGAIN))
        s = pc_py_wait(&op, pc_bcast_py_lock_try, pc_bcast_py_lock_park, PC_PY_FOREVER, 1);
    if (PC_UNLIKELY(s != PC_OK)) {
        if (s == PC_CLOSED)
            return pc_py_raise_value(PC_CLOSED, value, "broadcast channel has no receivers");
        return pc_py_raise(s, NULL);
    }
    /* Locked: nothing here can fail.  The receiver count cannot change
     * while we hold the lock (receivers join and leave under it). */
    slot = &st->slots[(uint64_t)op.pos % st->cap];
    Py_INCREF(value);
    PC_BCAST_PY_BEGIN(st);
    old = slot->value;
    slot->value = value;
    slot->rem = pc_bcast_receiver_count(&st->b);
    /* release: the value is visible to a receiver that reads this seq with
     * acquire. */
    atomic_store_explicit(&slot->seq, (uint64_t)op.pos + 1, memory_order_release);
    PC_BCAST_PY_END();
    n = pc_bcast_send_end(&st->b, (uint64_t)op.pos);
    Py_XDECREF(old); /* after the unlock (see the top) */
    if (n < 0) {
        n = ~n;
        pc_bcast_py_wake_async(st);
    }
    return PyLong_FromLongLong(n);
}

/* The senders' lock alone, for pc_py_wait (subscribe, a receiver's drop). */
static pc_status pc_bcast_py_tail_try(void *b)
{
    return pc_bcast_lock_try((pc_bcast_t *)b) ? PC_OK : PC_AGAIN;
}

static pc_status pc_bcast_py_tail_park(void *b, int64_t slice_ns)
{
    return pc_bcast_lock_timed((pc_bcast_t *)b, slice_ns) ? PC_OK : PC_AGAIN;
}

/* Release what a leaving receiver, at position `pos`, would still have
 * read of the values before `until`: it was counted in each of them. */
static void pc_bcast_py_release_unread(pc_bcast_py_state *st, uint64_t pos, uint64_t until)
{
    if (until > st->cap && pos < until - st->cap)
        pos = until - st->cap; /* older ones are overwritten already */
    for (; pos < until; pos++) {
        pc_bcast_py_slot *slot = &st->slots[pos % st->cap];
        PyObject *gone = NULL;
        PC_BCAST_PY_BEGIN(st);
        /* acquire: as in pc_bcast_py_poll. */
        if (atomic_load_explicit(&slot->seq, memory_order_acquire) == pos + 1 &&
            slot->value != NULL && slot->rem > 0 && --slot->rem == 0) {
            gone = slot->value;
            slot->value = NULL;
        }
        PC_BCAST_PY_END();
        Py_XDECREF(gone); /* outside: its __del__ may use the channel */
    }
}

/* subscribe() -> BroadcastReceiver */
static PyObject *pc_bcast_py_subscribe(pc_bcast_py_handle *self, PyObject *unused)
{
    PyObject *rx;
    pc_bcast_t *b = &self->st->b;
    uint64_t pos;
    pc_status st;
    (void)unused;
    if (!pc_bcast_py_open(self, Py_IS_TYPE(self, pc_bcast_py_Sender) ? "sender" : "receiver"))
        return NULL;
    rx = pc_bcast_py_new_handle(pc_bcast_py_Receiver, self->st, 0);
    if (rx == NULL)
        return NULL;
    /* Joined under the senders' lock (pc_bcast.h), waited for as a send
     * waits; made first, so that nothing fails once it has joined. */
    st = pc_py_wait(b, pc_bcast_py_tail_try, pc_bcast_py_tail_park, PC_PY_FOREVER, 1);
    if (st != PC_OK) {
        /* never joined: its drop must not leave */
        atomic_store_explicit(&((pc_bcast_py_handle *)rx)->closed, 1, memory_order_relaxed);
        Py_DECREF(rx);
        return pc_py_raise(st, NULL);
    }
    pos = pc_bcast_join_locked(b);
    pc_bcast_unlock(b);
    ((pc_bcast_py_handle *)rx)->pos = pos;
    return rx;
}

/* clone() -> BroadcastSender */
static PyObject *pc_bcast_py_clone(pc_bcast_py_handle *self, PyObject *unused)
{
    PyObject *tx;
    (void)unused;
    if (!pc_bcast_py_open(self, "sender"))
        return NULL;
    if (!pc_bcast_add_sender(&self->st->b))
        return pc_py_raise(PC_HANDLE_CLOSED, "this sender is closed");
    tx = pc_bcast_py_new_handle(pc_bcast_py_Sender, self->st, 0);
    if (tx == NULL && pc_bcast_drop_sender(&self->st->b))
        pc_bcast_py_wake_async(self->st);
    return tx;
}

static PyObject *pc_bcast_py_receiver_count(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    if (pc_bcast_py_is_closed(self))
        return PyLong_FromLong(0);
    return PyLong_FromUnsignedLong(pc_bcast_receiver_count(&self->st->b));
}

/* Values queued: held in a slot and not yet read by every receiver
 * counted when they were sent (tokio's Sender::len).  O(capacity). */
static Py_ssize_t pc_bcast_py_queued(pc_bcast_py_state *st)
{
    uint64_t tail = pc_bcast_tail(&st->b), pos = tail > st->cap ? tail - st->cap : 0;
    Py_ssize_t n = 0;
    PC_BCAST_PY_BEGIN(st);
    for (; pos < tail; pos++) {
        pc_bcast_py_slot *slot = &st->slots[pos % st->cap];
        /* acquire: as in pc_bcast_py_poll. */
        if (atomic_load_explicit(&slot->seq, memory_order_acquire) == pos + 1 &&
            slot->value != NULL)
            n++;
    }
    PC_BCAST_PY_END();
    return n;
}

static Py_ssize_t pc_bcast_py_queued_len(pc_bcast_py_handle *self)
{
    return pc_bcast_py_queued(self->st);
}

static PyObject *pc_bcast_py_sender_len(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSsize_t(pc_bcast_py_queued(self->st));
}

static PyObject *pc_bcast_py_sender_is_empty(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_bcast_py_queued(self->st) == 0);
}

static PyObject *pc_bcast_py_sender_count(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    /* relaxed: a snapshot. */
    return PyLong_FromUnsignedLong(
        atomic_load_explicit(&self->st->b.senders, memory_order_relaxed));
}

/* downgrade() -> BroadcastWeakSender: keeps the state, not the channel open. */
static PyObject *pc_bcast_py_downgrade(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    if (!pc_bcast_py_open(self, "sender"))
        return NULL;
    return pc_bcast_py_new_handle(pc_bcast_py_WeakSender, self->st, 0);
}

/* weak.upgrade() -> BroadcastSender, or None once every sender is gone. */
static PyObject *pc_bcast_py_upgrade(pc_bcast_py_handle *self, PyObject *unused)
{
    PyObject *tx;
    (void)unused;
    if (!pc_bcast_add_sender(&self->st->b)) /* a CAS from a count > 0 */
        Py_RETURN_NONE;
    tx = pc_bcast_py_new_handle(pc_bcast_py_Sender, self->st, 0);
    if (tx == NULL && pc_bcast_drop_sender(&self->st->b))
        pc_bcast_py_wake_async(self->st);
    return tx;
}

static void pc_bcast_py_weak_dealloc(pc_bcast_py_handle *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Py_CLEAR(self->st);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *pc_bcast_py_weak_repr(pc_bcast_py_handle *self)
{
    /* relaxed: a snapshot. */
    return PyUnicode_FromFormat(
        "<pyconc.BroadcastWeakSender senders=%lu>",
        (unsigned long)atomic_load_explicit(&self->st->b.senders, memory_order_relaxed));
}

static void pc_bcast_py_sender_drop(pc_bcast_py_handle *self)
{
    /* acq_rel: exactly one close wins; this sender's sends happen before. */
    if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0 &&
        pc_bcast_drop_sender(&self->st->b))
        pc_bcast_py_wake_async(self->st);
}

static PyObject *pc_bcast_py_sender_close(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    pc_bcast_py_sender_drop(self);
    Py_RETURN_NONE;
}

static PyObject *pc_bcast_py_sender_exit(pc_bcast_py_handle *self, PyObject *const *args,
                                         Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return pc_bcast_py_sender_close(self, NULL);
}

static PyObject *pc_bcast_py_sender_repr(pc_bcast_py_handle *self)
{
    int closed = pc_bcast_py_is_closed(self);
    return PyUnicode_FromFormat(
        "<%spyconc.BroadcastSender receivers=%lu>", closed ? "closed " : "",
        closed ? 0ul : (unsigned long)pc_bcast_receiver_count(&self->st->b));
}

static void pc_bcast_py_sender_dealloc(pc_bcast_py_handle *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    pc_bcast_py_sender_drop(self);
    Py_CLEAR(self->st);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* No tp_clear: a handle's one reference, to the state, is what it must
 * keep until it is freed (the state's own tp_clear breaks the cycles). */

/* --------------------------------------------------------------- receiver */

/* One look at this receiver's slot: PC_OK (*out a new reference),
 * PC_AGAIN (not sent yet), PC_LAGGED (*missed set; the position moved to
 * the oldest value held) or PC_CLOSED (every sender gone, all read). */
static pc_status pc_bcast_py_poll(pc_bcast_py_handle *self, PyObject **out,
                                  uint64_t *missed)
{
    pc_bcast_py_state *st = self->st;
    pc_status r;
    int looked_closed = 0;
    for (;;) {
        PC_BCAST_PY_BEGIN(st);
        uint64_t pos = self->pos;
        pc_bcast_py_slot *slot = &st->slots[pos % st->cap];
        /* acquire: pairs with the sender's release store; the value is
         * visible. */
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        if (PC_LIKELY(seq == pos + 1 && slot->value != NULL)) {
            if (slot->rem > 1) {
                slot->rem--;
                *out = Py_NewRef(slot->value);
            } else { /* the last reader: the slot's reference is ours */
                slot->rem = 0;
                *out = slot->value;
                slot->value = NULL;
            }
            self->pos = pos + 1;
            r = PC_OK;
        } else if (seq > pos + 1) {
            /* Overwritten: we lagged.  Continue from the oldest value held. */
            uint64_t oldest = pc_bcast_tail(&st->b) - st->cap;
            *missed = oldest - pos;
            self->pos = oldest;
            r = PC_LAGGED;
        } else {
            r = PC_AGAIN;
        }
        PC_BCAST_PY_END();
        if (r != PC_AGAIN || looked_closed)
            return r == PC_AGAIN ? PC_CLOSED : r;
        if (!pc_bcast_is_closed(&st->b))
            return PC_AGAIN;
        /* Closed: everything sent before the close is visible now (the
         * acquire of is_closed): look once more. */
        looked_closed = 1;
    }
}

static PyObject *pc_bcast_py_recv_failed(pc_status s, uint64_t missed, int64_t timeout_ns)
{
    switch (s) {
    case PC_LAGGED: {
        PyObject *exc = PyObject_CallFunction(pc_py_exc[PC_LAGGED], "K",
                                              (unsigned long long)missed);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    case PC_CLOSED:
        PyErr_SetString(pc_bcast_py_Closed,
                        "broadcast channel closed: every sender is gone");
        return NULL;
    case PC_AGAIN:
    case PC_EMPTY:
        return pc_py_raise(PC_EMPTY, "no value waiting");
    case PC_HANDLE_CLOSED:
        return pc_py_raise(PC_HANDLE_CLOSED, "this receiver is closed");
    case PC_TIMEOUT: {
        char msg[80];
        snprintf(msg, sizeof msg, "recv() timed out after %g s", (double)timeout_ns / 1e9);
        return pc_py_raise(PC_TIMEOUT, msg);
    }
    default:
        return pc_py_raise(s, NULL);
    }
}

/* try_recv() -> value */
static PyObject *pc_bcast_py_try_recv(pc_bcast_py_handle *self, PyObject *unused)
{
    PyObject *v = NULL;
    uint64_t missed = 0;
    pc_status s;
    (void)unused;
    if (!pc_bcast_py_open(self, "receiver"))
        return NULL;
    s = pc_bcast_py_poll(self, &v, &missed);
    if (PC_LIKELY(s == PC_OK))
        return v;
    return pc_bcast_py_recv_failed(s, missed, 0);
}

/* A waiting receive for pc_py_wait: register (pc_bcast_prepare), then
 * look; park while the futex word is unchanged. */
typedef struct {
    pc_bcast_py_handle *h;
    PyObject *out;
    uint64_t missed;
    uint32_t seen;
    int registered;
} pc_bcast_py_recv_op;

static pc_status pc_bcast_py_recv_try(void *arg)
{
    pc_bcast_py_recv_op *op = (pc_bcast_py_recv_op *)arg;
    if (pc_bcast_py_is_closed(op->h))
        return PC_HANDLE_CLOSED;
    if (!op->registered) {
        /* Register before looking: a send after our look changes the word. */
        op->seen = pc_bcast_prepare(&op->h->st->b, false);
        op->registered = 1;
    }
    return pc_bcast_py_poll(op->h, &op->out, &op->missed);
}

static pc_status pc_bcast_py_recv_park(void *arg, int64_t slice_ns)
{
    pc_bcast_py_recv_op *op = (pc_bcast_py_recv_op *)arg;
    if (pc_bcast_wait(&op->h->st->b, op->seen, slice_ns) == PC_BCAST_CHANGED)
        op->registered = 0; /* the wait unregistered us */
    return PC_AGAIN;
}

/* The receive, waiting at most timeout_ns. */
static PyObject *pc_bcast_py_recv_timed(pc_bcast_py_handle *self, int64_t timeout_ns,
                                        pc_status *status)
{
    pc_bcast_py_recv_op op = {self, NULL, 0, 0, 0};
    pc_status s;
    if (!pc_bcast_py_open(self, "receiver")) {
        *status = PC_HANDLE_CLOSED;
        return NULL;
    }
    s = pc_bcast_py_poll(self, &op.out, &op.missed);
    if (PC_UNLIKELY(s == PC_AGAIN)) {
        s = pc_py_wait(&op, pc_bcast_py_recv_try, pc_bcast_py_recv_park, timeout_ns, 1);
        if (op.registered)
            pc_bcast_unprepare(&self->st->b, false);
    }
    *status = s;
    if (PC_LIKELY(s == PC_OK))
        return op.out;
    return pc_bcast_py_recv_failed(s, op.missed, timeout_ns);
}

/* recv(timeout=None) -> value */
static PyObject *pc_bcast_py_recv(pc_bcast_py_handle *self, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames)
{
    int64_t ns = PC_PY_FOREVER;
    pc_status s;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL)) {
        static const char *const names[] = {"timeout"};
        PyObject *a[1];
        if (pc_chan_py_args("recv", args, nargs, kwnames, names, 0, 1, a) < 0 ||
            pc_py_timeout_ns(a[0], &ns) < 0)
            return NULL;
    }
    return pc_bcast_py_recv_timed(self, ns, &s);
}

/* for value in rx: recv() until Closed, skipping lags. */
static PyObject *pc_bcast_py_iternext(pc_bcast_py_handle *self)
{
    for (;;) {
        pc_status s;
        PyObject *v = pc_bcast_py_recv_timed(self, PC_PY_FOREVER, &s);
        if (PC_LIKELY(v != NULL))
            return v;
        if (s == PC_LAGGED) {
            PyErr_Clear();
            continue;
        }
        if (s == PC_CLOSED)
            PyErr_Clear(); /* the end of the iteration */
        return NULL;
    }
}


static Py_ssize_t pc_bcast_py_len(pc_bcast_py_handle *self)
{
    uint64_t tail;
    if (pc_bcast_py_is_closed(self))
        return 0;
    tail = pc_bcast_tail(&self->st->b);
    return tail > self->pos ? (Py_ssize_t)(tail - self->pos) : 0;
}

static void pc_bcast_py_rx_drop(pc_bcast_py_handle *self)
{
    pc_bcast_t *b = &self->st->b;
    uint64_t until;
    /* acq_rel: exactly one close counts. */
    if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) != 0)
        return;
    /* Leave under the senders' lock (not interruptible: this may run in
     * tp_dealloc, and must leave), then release what it would have read. */
    (void)pc_py_wait(b, pc_bcast_py_tail_try, pc_bcast_py_tail_park, PC_PY_FOREVER, 0);
    until = pc_bcast_leave_locked(b);
    pc_bcast_unlock(b);
    pc_bcast_py_release_unread(self->st, self->pos, until);
}

static PyObject *pc_bcast_py_rx_close(pc_bcast_py_handle *self, PyObject *unused)
{
    (void)unused;
    pc_bcast_py_rx_drop(self);
    Py_RETURN_NONE;
}

static PyObject *pc_bcast_py_rx_exit(pc_bcast_py_handle *self, PyObject *const *args,
                                     Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return pc_bcast_py_rx_close(self, NULL);
}

static PyObject *pc_bcast_py_rx_repr(pc_bcast_py_handle *self)
{
    return PyUnicode_FromFormat("<%spyconc.BroadcastReceiver pending=%zd>",
                                pc_bcast_py_is_closed(self) ? "closed " : "",
                                pc_bcast_py_len(self));
}

static void pc_bcast_py_rx_dealloc(pc_bcast_py_handle *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    pc_bcast_py_rx_drop(self);
    Py_CLEAR(self->st);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *pc_bcast_py_get_closed(pc_bcast_py_handle *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_bcast_py_is_closed(self));
}

#define PC_BCAST_PY_NO_COPY                                                        \
    {"__copy__", (PyCFunction)pc_bcast_py_no_copy, METH_NOARGS, PC_PY_COPY_DOC},   \
    {"__deepcopy__", (PyCFunction)pc_bcast_py_no_copy, METH_O, PC_PY_DEEPCOPY_DOC}, \
    {"__reduce__", (PyCFunction)pc_bcast_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC}, \
    {"__reduce_ex__", (PyCFunction)pc_bcast_py_no_copy, METH_O, PC_PY_REDUCE_EX_DOC}, \
    {"__class_getitem__", (PyCFunction)Py_GenericAlias, METH_O | METH_CLASS,       \
     "__class_getitem__($cls, item, /)\n--\n\n"                                     \
     "See PEP 585 (BroadcastSender[int] in type hints)."},                         \
    {"_async_waiting", (PyCFunction)pc_bcast_py_async_waiting, METH_NOARGS,        \
     "_async_waiting($self, /)\n--\n\nasyncio receivers registered (for tests)."}

static PyMethodDef pc_bcast_py_sender_methods[] = {
    {"send", (PyCFunction)pc_bcast_py_send, METH_O,
     "send($self, value, /)\n--\n\nsend(value) -> int\n\n"
     "Send value to every receiver and return the number of receivers.\n"
     "Raises SendError (holding the value) if there are none, HandleClosed\n"
     "if this sender is closed.  Never waits for a receiver; it may wait,\n"
     "briefly, for another sender (interruptible by Ctrl-C: then nothing\n"
     "was sent)."},
    {"subscribe", (PyCFunction)pc_bcast_py_subscribe, METH_NOARGS,
     "subscribe($self, /)\n--\n\nsubscribe() -> BroadcastReceiver\n\n"
     "A new receiver, which sees the values sent after this call."},
    {"clone", (PyCFunction)pc_bcast_py_clone, METH_NOARGS,
     "clone($self, /)\n--\n\nclone() -> BroadcastSender\n\n"
     "Another sender on the same channel."},
    {"receiver_count", (PyCFunction)pc_bcast_py_receiver_count, METH_NOARGS,
     "receiver_count($self, /)\n--\n\nreceiver_count() -> int\n\n"
     "The number of receivers (a snapshot; 0 once this sender is closed)."},
    {"sender_count", (PyCFunction)pc_bcast_py_sender_count, METH_NOARGS,
     "sender_count($self, /)\n--\n\nThe number of (strong) senders alive (a snapshot)."},
    {"len", (PyCFunction)pc_bcast_py_sender_len, METH_NOARGS,
     "len($self, /)\n--\n\n"
     "Values queued: sent and not yet read by every receiver alive when\n"
     "they were sent, nor overwritten (tokio's ``Sender::len``).  Also\n"
     "``len(tx)``.  A snapshot."},
    {"is_empty", (PyCFunction)pc_bcast_py_sender_is_empty, METH_NOARGS,
     "is_empty($self, /)\n--\n\nTrue if no value is queued (see len())."},
    {"downgrade", (PyCFunction)pc_bcast_py_downgrade, METH_NOARGS,
     "downgrade($self, /)\n--\n\n"
     "A BroadcastWeakSender: it does not keep the channel open (receivers\n"
     "get Closed once the strong senders are gone); upgrade() gives a\n"
     "sender back while one is alive (tokio's ``WeakSender``)."},
    {"close", (PyCFunction)pc_bcast_py_sender_close, METH_NOARGS,
     "close($self, /)\n--\n\nclose() -> None\n\n"
     "Drop this sender (idempotent).  When the last sender is closed,\n"
     "receivers get Closed once they have read every value sent."},
    {"__enter__", (PyCFunction)pc_bcast_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe sender itself, for ``with tx:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_bcast_py_sender_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nclose() this sender."},
    PC_BCAST_PY_NO_COPY,
    {NULL, NULL, 0, NULL},
};

static PyMethodDef pc_bcast_py_rx_methods[] = {
    {"recv", (PyCFunction)(void (*)(void))pc_bcast_py_recv, METH_FASTCALL | METH_KEYWORDS,
     "recv($self, /, timeout=None)\n--\n\nrecv(timeout=None) -> value\n\n"
     "The next value, waiting for it: with no limit when timeout is None,\n"
     "else at most timeout seconds, then raise pyconc.Timeout (a\n"
     "TimeoutError).  Raises Lagged (.missed: how many were lost) if this\n"
     "receiver fell more than capacity behind, then continues from the\n"
     "oldest value held; Closed once every sender is gone and everything is\n"
     "read.  The wait releases the GIL and lets Ctrl-C through."},
    {"try_recv", (PyCFunction)pc_bcast_py_try_recv, METH_NOARGS,
     "try_recv($self, /)\n--\n\ntry_recv() -> value\n\n"
     "The next value if one is waiting.  Raises Empty if none is, Lagged if\n"
     "this receiver fell behind, Closed if the channel is closed and\n"
     "drained."},
    {"resubscribe", (PyCFunction)pc_bcast_py_subscribe, METH_NOARGS,
     "resubscribe($self, /)\n--\n\nresubscribe() -> BroadcastReceiver\n\n"
     "A new receiver on the same channel, starting at the newest position\n"
     "(tokio's resubscribe)."},
    {"close", (PyCFunction)pc_bcast_py_rx_close, METH_NOARGS,
     "close($self, /)\n--\n\nclose() -> None\n\n"
     "Drop this receiver (idempotent); senders stop counting it."},
    {"__enter__", (PyCFunction)pc_bcast_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe receiver itself, for ``with rx:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_bcast_py_rx_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nclose() this receiver."},
    PC_BCAST_PY_NO_COPY,
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pc_bcast_py_getset[] = {
    {"closed", (getter)pc_bcast_py_get_closed, NULL,
     "True once close() was called on this handle.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef pc_bcast_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_bcast_py_handle, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *pc_bcast_py_self_iter(PyObject *self)
{
    return Py_NewRef(self);
}

static PyType_Slot pc_bcast_py_sender_slots[] = {
    {Py_tp_doc,
     "The sending side of a broadcast channel (tokio's broadcast::Sender).\n\n"
     "send(value) stores value for every current receiver and returns how\n"
     "many there are; it never waits for receivers.  clone() makes another\n"
     "sender; subscribe() a new receiver that sees values sent from then\n"
     "on.  close() (or garbage collection, or leaving a with block) drops\n"
     "this sender; when the last one is gone, receivers get Closed after\n"
     "reading what is left.\n\n"
     "Thread safety without the GIL: senders serialise on a C spin lock held\n"
     "only while storing one slot; counts and the tail are C atomics; the\n"
     "slots are written inside a critical section on the channel's state."},
    {Py_tp_dealloc, (void *)pc_bcast_py_sender_dealloc},
    {Py_tp_traverse, (void *)pc_bcast_py_traverse},
    {Py_tp_repr, (void *)pc_bcast_py_sender_repr},
    {Py_tp_methods, pc_bcast_py_sender_methods},
    {Py_tp_getset, pc_bcast_py_getset},
    {Py_tp_members, pc_bcast_py_members},
    {Py_tp_new, (void *)pc_bcast_py_no_new},
    {Py_sq_length, (void *)pc_bcast_py_queued_len},
    {0, NULL},
};

static PyMethodDef pc_bcast_py_weak_methods[] = {
    {"upgrade", (PyCFunction)pc_bcast_py_upgrade, METH_NOARGS,
     "upgrade($self, /)\n--\n\n"
     "A new BroadcastSender if a sender is still alive, else None."},
    {"sender_count", (PyCFunction)pc_bcast_py_sender_count, METH_NOARGS,
     "sender_count($self, /)\n--\n\nThe number of strong senders alive (a snapshot)."},
    {"receiver_count", (PyCFunction)pc_bcast_py_receiver_count, METH_NOARGS,
     "receiver_count($self, /)\n--\n\nThe number of receivers (a snapshot)."},
    PC_BCAST_PY_NO_COPY,
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_bcast_py_weak_slots[] = {
    {Py_tp_doc,
     "A weak handle on a broadcast channel's sending side (tokio's\n"
     "broadcast::WeakSender), from BroadcastSender.downgrade(): it does not\n"
     "keep the channel open; upgrade() returns a BroadcastSender while any\n"
     "is alive, else None.\n\n"
     "Thread safety without the GIL: upgrade() is a CAS on the senders'\n"
     "count that never raises it from 0, so a closed channel stays closed."},
    {Py_tp_dealloc, (void *)pc_bcast_py_weak_dealloc},
    {Py_tp_traverse, (void *)pc_bcast_py_traverse},
    {Py_tp_repr, (void *)pc_bcast_py_weak_repr},
    {Py_tp_methods, pc_bcast_py_weak_methods},
    {Py_tp_members, pc_bcast_py_members},
    {Py_tp_new, (void *)pc_bcast_py_no_new},
    {0, NULL},
};

static PyType_Spec pc_bcast_py_weak_spec = {
    "pyconc.broadcast.BroadcastWeakSender", sizeof(pc_bcast_py_handle), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_bcast_py_weak_slots};

static PyType_Slot pc_bcast_py_rx_slots[] = {
    {Py_tp_doc,
     "A receiving side of a broadcast channel (tokio's broadcast::Receiver).\n\n"
     "recv(timeout=None) returns the next value, waiting for it; try_recv()\n"
     "never waits (Empty); await recv_async() waits in asyncio.  After\n"
     "falling more than capacity values behind, the next receive raises\n"
     "Lagged (.missed: how many were lost) and the following ones continue\n"
     "from the oldest value held.  Once every sender is gone and everything\n"
     "is read, receives raise Closed.  Iterating yields values until Closed\n"
     "(skipping over lags).  A receiver is for one thread (or task) at a\n"
     "time; give another thread its own with resubscribe().\n\n"
     "Thread safety without the GIL: the position is the receiver's own,\n"
     "read and written, with the slot, inside a critical section on the\n"
     "channel's state; counters are C atomics."},
    {Py_tp_dealloc, (void *)pc_bcast_py_rx_dealloc},
    {Py_tp_traverse, (void *)pc_bcast_py_traverse},
    {Py_tp_repr, (void *)pc_bcast_py_rx_repr},
    {Py_tp_methods, pc_bcast_py_rx_methods},
    {Py_tp_getset, pc_bcast_py_getset},
    {Py_tp_members, pc_bcast_py_members},
    {Py_tp_iter, (void *)pc_bcast_py_self_iter},
    {Py_tp_iternext, (void *)pc_bcast_py_iternext},
    {Py_sq_length, (void *)pc_bcast_py_len},
    {Py_tp_new, (void *)pc_bcast_py_no_new},
    {0, NULL},
};

static PyType_Spec pc_bcast_py_sender_spec = {
    "pyconc.broadcast.BroadcastSender", sizeof(pc_bcast_py_handle), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_bcast_py_sender_slots};

static PyType_Spec pc_bcast_py_rx_spec = {
    "pyconc.broadcast.BroadcastReceiver", sizeof(pc_bcast_py_handle), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_bcast_py_rx_slots};

/* _bcast_new(capacity) -> (BroadcastSender, BroadcastReceiver);
 * pyconc/broadcast.py checks capacity first (1 .. 2**30). */
static PyObject *pc_bcast_py_new(PyObject *module, PyObject *arg)
{
    Py_ssize_t cap = PyLong_AsSsize_t(arg);
    pc_bcast_py_state *st;
    PyObject *tx, *rx, *res;
    (void)module;
    if (cap == -1 && PyErr_Occurred())
        return NULL;
    if (cap < 1 || cap > ((Py_ssize_t)1 << 30)) {
        PyErr_SetString(PyExc_ValueError, "_bcast_new: capacity out of range");
        return NULL;
    }
    st = PyObject_GC_New(pc_bcast_py_state, pc_bcast_py_State);
    if (st == NULL)
        return NULL;
    pc_bcast_init(&st->b);
    st->cap = (uint64_t)cap;
    pc_async_list_init(&st->async_rx);
    st->slots = (pc_bcast_py_slot *)PyMem_Calloc((size_t)cap, sizeof *st->slots);
    PyObject_GC_Track(st);
    if (st->slots == NULL) {
        Py_DECREF(st);
        return PyErr_NoMemory();
    }
    /* pc_bcast_init counts one sender and one receiver: these two. */
    tx = pc_bcast_py_new_handle(pc_bcast_py_Sender, st, 0);
    rx = tx == NULL ? NULL : pc_bcast_py_new_handle(pc_bcast_py_Receiver, st, 0);
    Py_DECREF(st);
    if (rx == NULL) {
        Py_XDECREF(tx);
        return NULL;
    }
    res = PyTuple_Pack(2, tx, rx);
    Py_DECREF(tx);
    Py_DECREF(rx);
    return res;
}

static PyMethodDef pc_bcast_py_functions[] = {
    {"_bcast_new", (PyCFunction)pc_bcast_py_new, METH_O,
     "_bcast_new(capacity, /)\n--\n\n(BroadcastSender, BroadcastReceiver) of a new channel;\n"
     "pyconc/broadcast.py checks the argument."},
    {NULL, NULL, 0, NULL},
};

/* The family's init (pc_py_module.h). */
static int pc_bcast_py_init(PyObject *m)
{
    PyObject *tp;
    if ((pc_bcast_py_Closed = pc_py_errors_attr("Closed")) == NULL)
        return -1;
    if ((tp = PyType_FromSpec(&pc_bcast_py_state_spec)) == NULL)
        return -1;
    pc_bcast_py_State = (PyTypeObject *)tp; /* kept for the module's life */
    if ((pc_bcast_py_Sender = pc_py_add_type(m, &pc_bcast_py_sender_spec)) == NULL ||
        (pc_bcast_py_Receiver = pc_py_add_type(m, &pc_bcast_py_rx_spec)) == NULL ||
        (pc_bcast_py_WeakSender = pc_py_add_type(m, &pc_bcast_py_weak_spec)) == NULL)
        return -1;
    return PyModule_AddFunctions(m, pc_bcast_py_functions);
}

#endif /* PC_BCAST_PY_H */
