/*
 * pyglue/pc_chan_py.h - the channel's Sender and Receiver as CPython types.
 *
 * Included by build.py's cffi preamble (after Python.h), so it may use the
 * full C API; it is the one place where the channel touches Python
 * objects.  Why not plain cffi calls: a cffi call cannot take or return a
 * PyObject *, and moving an object through cffi costs a handle allocation
 * and a Python-level method frame per value.  Here `tx.send(v)` and
 * `rx.recv()` are each one C method call that runs with the GIL held and
 * never waits; only when they would have to wait do they call the Python
 * subclass (pyconc/channel.py), which waits in C through the cffi
 * *_blocking.h calls with the GIL released.
 *
 * Ownership: a queued value holds one strong reference, taken by the send
 * (Py_INCREF) and handed to the receiver by the pop; values dropped by the
 * channel (receiver closed, channel freed) are released with Py_DECREF.
 *
 * What protects the state without the GIL (free-threaded builds):
 *   - pc_chan_t: its own atomics (pc_chan.h); receiving needs the claim.
 *   - each handle's `closed` flag: an atomic exchange, so close() takes
 *     effect once even when two threads race to close one handle.
 *   - `chan` never changes after construction, and the handle's channel
 *     reference is dropped only in tp_dealloc.
 *   - Py_INCREF/Py_DECREF are thread-safe on free-threaded builds.
 * The module-level exception types are set once, at import, before any
 * handle exists.
 */
#ifndef PC_CHAN_PY_H
#define PC_CHAN_PY_H

#include "pc_chan.h"

#include <string.h>

/* Values moved per batch by send_many, and kept on the stack by recv_many. */
#define PC_CHAN_PY_CHUNK 64

/* Exception types and sentinel, from pyconc.errors via pc_chan_py_install. */
static PyObject *pc_chan_py_ChannelError;
static PyObject *pc_chan_py_SendError;
static PyObject *pc_chan_py_Empty;
static PyObject *pc_chan_py_Full;
static PyObject *pc_chan_py_Disconnected;
static PyObject *pc_chan_py_EMPTY; /* returned by _pop when nothing is queued */

/* Python-level slow paths, looked up on the instance (the subclass). */
static PyObject *pc_chan_py_str_send_slow;
static PyObject *pc_chan_py_str_recv_slow;
static PyObject *pc_chan_py_str_recv_many_slow;
static PyObject *pc_chan_py_str_try_send_rendezvous;
static PyObject *pc_chan_py_str_send_many_slow;

typedef struct {
    PyObject_HEAD
    pc_chan_t *chan;
    _Atomic uint32_t closed;
    uint32_t unyielded; /* Sender: values sent in batches since it last
                         * yielded the GIL (pc_chan_py_send_chunks) */
} pc_chan_py_handle;

/* send_many yields the GIL to a thread waiting for it at most once per
 * this many values (see pc_chan_py_send_chunks). */
#define PC_CHAN_PY_YIELD_EVERY 1024


static void pc_chan_py_drop(void *value)
{
    Py_DECREF((PyObject *)value);
}

static PyObject *pc_chan_py_busy(void)
{
    PyErr_SetString(pc_chan_py_ChannelError,
                    "the Receiver is in use by another thread: a channel has "
                    "one receiving thread at a time");
    return NULL;
}

static PyObject *pc_chan_py_rx_closed_error(void)
{
    PyErr_SetString(pc_chan_py_Disconnected, "receiving on a closed Receiver");
    return NULL;
}

static PyObject *pc_chan_py_disconnected(void)
{
    PyErr_SetString(pc_chan_py_Disconnected,
                    "every Sender is gone and the channel is empty");
    return NULL;
}

static PyObject *pc_chan_py_raise_with_value(PyObject *type, PyObject *value,
                                             const char *message)
{
    PyObject *exc = PyObject_CallFunction(type, "Os", value, message);
    if (exc != NULL) {
        PyErr_SetObject(type, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *pc_chan_py_send_closed(PyObject *value)
{
    return pc_chan_py_raise_with_value(
        pc_chan_py_SendError, value,
        "sending on a channel whose Receiver is closed; the value is in .value");
}

static int pc_chan_py_sender_open(pc_chan_py_handle *self)
{
    /* relaxed: a use-after-close check; close() itself is the exchange. */
    if (PC_UNLIKELY(atomic_load_explicit(&self->closed, memory_order_relaxed))) {
        PyErr_SetString(pc_chan_py_ChannelError, "this Sender is closed");
        return 0;
    }
    return 1;
}

/* ----------------------------------------------------------------- Sender */

/* send(value): queue the value; waits (in Python, see channel.py) only when
 * a bounded channel is full or for a rendezvous. */
static PyObject *pc_chan_py_send(pc_chan_py_handle *self, PyObject *value)
{
    uint64_t pos = 0;
    int r;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    Py_INCREF(value); /* the queue's reference */
    r = pc_chan_trysend(self->chan, value, &pos);
    if (PC_LIKELY(r == PC_CHAN_OK)) {
        if (PC_LIKELY(self->chan->kind != PC_CHAN_RENDEZVOUS))
            Py_RETURN_NONE;
        /* Rendezvous: queued; wait for the hand-over in Python. */
        PyObject *args[3] = {(PyObject *)self, value, NULL};
        PyObject *p = PyLong_FromUnsignedLongLong(pos);
        PyObject *res;
        if (p == NULL) {
            if (pc_chan_retract(self->chan, pos))
                Py_DECREF(value);
            return NULL;
        }
        args[2] = p;
        res = PyObject_VectorcallMethod(pc_chan_py_str_send_slow, args,
                                        3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(p);
        return res;
    }
    Py_DECREF(value);
    if (r == PC_CHAN_FULL) {
        PyObject *args[3] = {(PyObject *)self, value, Py_None};
        return PyObject_VectorcallMethod(pc_chan_py_str_send_slow, args,
                                         3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    if (r == PC_CHAN_CLOSED)
        return pc_chan_py_send_closed(value);
    return PyErr_NoMemory();
}

/* try_send(value): queue without waiting, or raise Full / SendError. */
static PyObject *pc_chan_py_try_send(pc_chan_py_handle *self, PyObject *value)
{
    int r;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    if (self->chan->kind == PC_CHAN_RENDEZVOUS) {
        PyObject *args[2] = {(PyObject *)self, value};
        return PyObject_VectorcallMethod(pc_chan_py_str_try_send_rendezvous, args,
                                         2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    Py_INCREF(value);
    r = pc_chan_trysend(self->chan, value, NULL);
    if (PC_LIKELY(r == PC_CHAN_OK))
        Py_RETURN_NONE;
    Py_DECREF(value);
    if (r == PC_CHAN_FULL)
        return pc_chan_py_raise_with_value(
            pc_chan_py_Full, value, "the channel is full; the value is in .value");
    if (r == PC_CHAN_CLOSED)
        return pc_chan_py_send_closed(value);
    return PyErr_NoMemory();
}

/* _push(value) -> int: -1 queued, -2 full, -3 receiver closed, or (rendezvous)
 * the position pushed at, >= 0, to wait on with _wait/_retract. */
static PyObject *pc_chan_py_push(pc_chan_py_handle *self, PyObject *value)
{
    uint64_t pos = 0;
    int r;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    Py_INCREF(value);
    r = pc_chan_trysend(self->chan, value, &pos);
    if (r == PC_CHAN_OK) {
        if (self->chan->kind == PC_CHAN_RENDEZVOUS)
            return PyLong_FromUnsignedLongLong(pos);
        return PyLong_FromLong(-1);
    }
    Py_DECREF(value);
    if (r == PC_CHAN_FULL)
        return PyLong_FromLong(-2);
    if (r == PC_CHAN_CLOSED)
        return PyLong_FromLong(-3);
    return PyErr_NoMemory();
}

/* Queue the owned references items[0..n) in one batch; returns how many were
 * queued (the rest are still owned by the caller), or -1 (NOMEM, error
 * set), or -3 if the receiver is closed. */
static Py_ssize_t pc_chan_py_push_owned(pc_chan_t *c, PyObject **items, Py_ssize_t n)
{
    size_t sent = 0;
    int r = pc_chan_trysend_many(c, (void *const *)items, (size_t)n, &sent);
    if (r == PC_CHAN_NOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    if (r == PC_CHAN_CLOSED)
        return -3;
    return (Py_ssize_t)sent;
}

/* Give the GIL, for a moment, to a thread on its way back to it from a
 * pyconc wait (pc_handoff.h: the recipe of pc_handoff_gil_passed). */
static void pc_chan_py_yield_gil(void)
{
    Py_BEGIN_ALLOW_THREADS
    pc_handoff_gil_released();
    pc_handoff_gil_passed();
    pc_handoff_gil_reacquire();
    Py_END_ALLOW_THREADS
    pc_handoff_gil_taken();
}

/* Wait, the GIL released, for room in a full bounded channel: one slice
 * at most, so that the caller can look for signals in between.  As a cffi
 * blocking wrapper does (build.py), tell pc_handoff about the GIL. */
static void pc_chan_py_wait_room(pc_chan_t *c)
{
    Py_BEGIN_ALLOW_THREADS
    pc_handoff_gil_released();
    (void)pc_chan_send_wait(c, -1, PC_WAIT_SLICE_NS);
    pc_handoff_gil_reacquire();
    Py_END_ALLOW_THREADS
    pc_handoff_gil_taken();
}

/* Queue chunks from the iterator `it` until it is exhausted (returns None),
 * waiting in C for room in a full bounded channel; or, if a chunk cannot be
 * queued that way (a rendezvous, a closed receiver), return the values
 * taken and not queued, as a list.  Ctrl-C while waiting: the values taken
 * and not queued are released, and the exception raised. */
static PyObject *pc_chan_py_send_chunks(pc_chan_py_handle *self, PyObject *it)
{
    PyObject *buf[PC_CHAN_PY_CHUNK];
    PyObject *pending;
    Py_ssize_t n, done, sent, i;

    if (!pc_chan_py_sender_open(self))
        return NULL;
    for (;;) {
        /* Take up to a chunk of owned references from the iterator. */
        for (n = 0; n < PC_CHAN_PY_CHUNK; n++) {
            PyObject *v = PyIter_Next(it);
            if (v == NULL)
                break;
            buf[n] = v;
        }
        if (n < PC_CHAN_PY_CHUNK && PyErr_Occurred())
            goto release_all;
        if (n == 0)
            Py_RETURN_NONE;
        done = 0;
        while (self->chan->kind != PC_CHAN_RENDEZVOUS) {
            sent = pc_chan_py_push_owned(self->chan, buf + done, n - done);
            if (sent == -1)
                goto release_rest;
            if (sent < 0)
                break; /* closed: the caller's send raises SendError */
            done += sent;
            if (done == n)
                break;
            pc_chan_py_wait_room(self->chan);
            if (PyErr_CheckSignals() < 0 || !pc_chan_py_sender_open(self))
                goto release_rest;
        }
        if (done == n) {
            /*
             * An unbounded channel never makes a sender wait, so a sender
             * with much to send keeps the GIL until the interpreter's
             * switch interval (5 ms) takes it away; meanwhile the receiver,
             * woken, waits, and the values pile up beyond the caches.  So
             * every PC_CHAN_PY_YIELD_EVERY values, if a thread is on its
             * way back to the GIL from a pyconc wait (the receiver, say),
             * let it have the GIL now.
             */
#ifndef Py_GIL_DISABLED /* no GIL to give; and the count is a plain field */
            self->unyielded += (uint32_t)n;
            if (self->unyielded >= PC_CHAN_PY_YIELD_EVERY) {
                self->unyielded = 0;
                if (pc_handoff_gil_wanted())
                    pc_chan_py_yield_gil();
            }
#endif
            continue;
        }
        pending = PyList_New(n - done);
        if (pending == NULL)
            goto release_rest;
        for (i = done; i < n; i++)
            PyList_SET_ITEM(pending, i - done, buf[i]); /* steals */
        return pending;
    }
release_all:
    done = 0;
release_rest:
    for (i = done; i < n; i++)
        Py_DECREF(buf[i]);
    return NULL;
}

/* _send_chunks(iterator) -> None or list: see pc_chan_py_send_chunks. */
static PyObject *pc_chan_py_send_chunks_m(pc_chan_py_handle *self, PyObject *it)
{
    if (!PyIter_Check(it)) {
        PyErr_SetString(PyExc_TypeError, "_send_chunks needs an iterator");
        return NULL;
    }
    return pc_chan_py_send_chunks(self, it);
}

/* send_many(iterable): in C, waiting in C for room; the Python method
 * _send_many_slow(pending, iterator) takes over for a rendezvous, which
 * hands values over one by one, and for a closed receiver (SendError). */
static PyObject *pc_chan_py_send_many(pc_chan_py_handle *self, PyObject *values)
{
    PyObject *it, *pending, *res, *args[3];
    if (!pc_chan_py_sender_open(self))
        return NULL;
    it = PyObject_GetIter(values);
    if (it == NULL)
        return NULL;
    pending = pc_chan_py_send_chunks(self, it);
    if (pending == NULL || pending == Py_None) {
        Py_DECREF(it);
        return pending;
    }
    args[0] = (PyObject *)self;
    args[1] = pending;
    args[2] = it;
    res = PyObject_VectorcallMethod(pc_chan_py_str_send_many_slow, args,
                                    3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(pending);
    Py_DECREF(it);
    return res;
}

/* _retract(pos, value) -> bool: rendezvous: take back the value pushed at
 * pos (the caller passes the same object) if it was not received. */
static PyObject *pc_chan_py_retract(pc_chan_py_handle *self, PyObject *const *args,
                                    Py_ssize_t nargs)
{
    unsigned long long pos;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_retract(pos, value)");
        return NULL;
    }
    pos = PyLong_AsUnsignedLongLong(args[0]);
    if (pos == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (self->chan->kind != PC_CHAN_RENDEZVOUS) {
        PyErr_SetString(PyExc_ValueError, "_retract on a channel that is not a rendezvous");
        return NULL;
    }
    if (pc_chan_retract(self->chan, (uint64_t)pos)) {
        /* The queue's reference is ours again: release it (the caller
         * holds its own). */
        Py_DECREF(args[1]);
        Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* _delivered(pos) -> bool */
static PyObject *pc_chan_py_delivered(pc_chan_py_handle *self, PyObject *arg)
{
    unsigned long long pos = PyLong_AsUnsignedLongLong(arg);
    if (pos == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    return PyBool_FromLong(pc_chan_delivered(self->chan, (uint64_t)pos));
}

static PyObject *pc_chan_py_new_sender(PyTypeObject *type, pc_chan_t *chan)
{
    pc_chan_py_handle *h = (pc_chan_py_handle *)type->tp_alloc(type, 0);
    if (h == NULL)
        return NULL;
    h->chan = chan;
    atomic_store_explicit(&h->closed, 0, memory_order_relaxed);
    return (PyObject *)h;
}

/* clone() -> Sender */
static PyObject *pc_chan_py_clone(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    pc_chan_sender_add(self->chan);
    PyObject *o = pc_chan_py_new_sender(Py_TYPE(self), self->chan);
    if (o == NULL) {
        pc_chan_sender_drop(self->chan);
        pc_chan_unref(self->chan);
    }
    return o;
}

/* close(): this Sender is gone; the last one disconnects the channel. */
static PyObject *pc_chan_py_sender_close(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    /* acq_rel: exactly one close wins, and it happens after the handle's
     * sends (release) as seen by whoever closes. */
    if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0)
        pc_chan_sender_drop(self->chan);
    Py_RETURN_NONE;
}

static void pc_chan_py_sender_dealloc(pc_chan_py_handle *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->chan != NULL) {
        if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0)
            pc_chan_sender_drop(self->chan);
        pc_chan_unref(self->chan);
        self->chan = NULL;
    }
    tp->tp_free((PyObject *)self);
}

/* --------------------------------------------------------------- Receiver */

static int pc_chan_py_rx_open(pc_chan_py_handle *self)
{
    /* relaxed: a use-after-close check. */
    if (PC_UNLIKELY(atomic_load_explicit(&self->closed, memory_order_relaxed))) {
        pc_chan_py_rx_closed_error();
        return 0;
    }
    return 1;
}

/* Release the claim; drain first if the Receiver was closed meanwhile. */
static void pc_chan_py_unclaim(pc_chan_py_handle *self)
{
    uint32_t expected = 0;
    /* acquire: see a close by another thread, whose own claim attempt
     * failed because we hold the claim: the drain is ours to do. */
    if (PC_UNLIKELY(atomic_load_explicit(&self->closed, memory_order_acquire)))
        pc_chan_drain(self->chan);
    /*
     * A close may come between that check and our release, and fail to
     * claim.  seq_cst release store, then seq_cst load of `closed`: with
     * close()'s seq_cst exchange of `closed` and seq_cst claim attempt, one
     * of us sees the other (store buffering), so one of us drains.
     */
    atomic_store_explicit(&self->chan->rx_busy, 0, memory_order_seq_cst);
    if (PC_UNLIKELY(atomic_load_explicit(&self->closed, memory_order_seq_cst)) &&
        atomic_compare_exchange_strong_explicit(&self->chan->rx_busy, &expected, 1,
                                                memory_order_seq_cst,
                                                memory_order_relaxed)) {
        pc_chan_drain(self->chan);
        pc_chan_rx_unclaim(self->chan);
    }
}

/* Pop under a claim the caller holds: a new reference, pc_chan_py_EMPTY
 * (borrowed), or NULL with Disconnected set. */
static PyObject *pc_chan_py_pop_claimed(pc_chan_py_handle *self)
{
    void *v;
    int r = pc_chan_trypop(self->chan, &v);
    if (PC_LIKELY(r == PC_CHAN_OK))
        return (PyObject *)v;
    if (r == PC_CHAN_EMPTY)
        return pc_chan_py_EMPTY;
    return pc_chan_py_disconnected();
}

/*
 * The claim as the fast paths take it.  With the GIL, a fast path (which
 * never releases the GIL, and pops with the queue consistent before and
 * after) cannot overlap another; it need only refuse while a slow path
 * holds the claim across its waits, which one relaxed load shows (the GIL's
 * hand-over orders it).  That saves a compare-and-swap and a store per
 * value.  Without the GIL the fast paths take the claim like the slow ones.
 */
PC_INLINE bool pc_chan_py_fast_claim(pc_chan_py_handle *self)
{
#ifdef Py_GIL_DISABLED
    return pc_chan_rx_claim(self->chan);
#else
    return atomic_load_explicit(&self->chan->rx_busy, memory_order_relaxed) == 0;
#endif
}

PC_INLINE void pc_chan_py_fast_unclaim(pc_chan_py_handle *self)
{
#ifdef Py_GIL_DISABLED
    pc_chan_py_unclaim(self);
#else
    (void)self;
#endif
}

/* One pop with the claim taken and released around it. */
static PyObject *pc_chan_py_pop_once(pc_chan_py_handle *self)
{
    PyObject *v;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    if (PC_UNLIKELY(!pc_chan_py_fast_claim(self)))
        return pc_chan_py_busy();
    v = pc_chan_py_pop_claimed(self);
    pc_chan_py_fast_unclaim(self);
    return v;
}

static PyObject *pc_chan_py_call_slow(PyObject *self, PyObject *name,
                                      PyObject *const *args, Py_ssize_t nargs,
                                      PyObject *kwnames)
{
    PyObject *stack[4];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw > 3) {
        PyErr_SetString(PyExc_TypeError, "too many arguments");
        return NULL;
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < nargs + nkw; i++)
        stack[1 + i] = args[i];
    return PyObject_VectorcallMethod(name, stack,
                                     (size_t)(1 + nargs) | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                     kwnames);
}

/* recv(timeout=None) */
static PyObject *pc_chan_py_recv(pc_chan_py_handle *self, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *v;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL) &&
        !(nargs == 1 && kwnames == NULL && args[0] == Py_None))
        /* A timeout: the Python method validates it and does it all. */
        return pc_chan_py_call_slow((PyObject *)self, pc_chan_py_str_recv_slow,
                                    args, nargs, kwnames);
    v = pc_chan_py_pop_once(self);
    if (PC_LIKELY(v != pc_chan_py_EMPTY))
        return v;
    return pc_chan_py_call_slow((PyObject *)self, pc_chan_py_str_recv_slow, NULL, 0, NULL);
}

/* try_recv() */
static PyObject *pc_chan_py_try_recv(pc_chan_py_handle *self, PyObject *unused)
{
    PyObject *v;
    (void)unused;
    v = pc_chan_py_pop_once(self);
    if (PC_UNLIKELY(v == pc_chan_py_EMPTY)) {
        PyErr_SetString(pc_chan_py_Empty, "the channel is empty");
        return NULL;
    }
    return v;
}

/* Pop up to max_items into a new list (maybe empty) under a held claim;
 * NULL with Disconnected if nothing and every sender is gone. */
static PyObject *pc_chan_py_pop_many_claimed(pc_chan_py_handle *self, Py_ssize_t max_items)
{
    PyObject *stack[PC_CHAN_PY_CHUNK];
    PyObject **buf = stack, *list;
    Py_ssize_t n = 0, cap = PC_CHAN_PY_CHUNK;
    int r = PC_CHAN_OK;

    while (n < max_items) {
        size_t want, got;
        if (n == cap) {
            /* More than a chunk: grow on the heap.  Values popped so far
             * are owned here; on failure they are released, not leaked. */
            Py_ssize_t ncap = cap * 2;
            PyObject **nbuf = (PyObject **)PyMem_Malloc((size_t)ncap * sizeof *nbuf);
            if (nbuf == NULL) {
                for (Py_ssize_t i = 0; i < n; i++)
                    Py_DECREF(buf[i]);
                if (buf != stack)
                    PyMem_Free(buf);
                return PyErr_NoMemory();
            }
            memcpy(nbuf, buf, (size_t)n * sizeof *nbuf);
            if (buf != stack)
                PyMem_Free(buf);
            buf = nbuf;
            cap = ncap;
        }
        want = (size_t)((max_items < cap ? max_items : cap) - n);
        got = pc_chan_trypop_many(self->chan, (void **)(buf + n), want, &r);
        n += (Py_ssize_t)got;
        if (got < want)
            break;
    }
    if (n == 0 && r == PC_CHAN_DISCONNECTED)
        return pc_chan_py_disconnected();
    list = PyList_New(n);
    if (list == NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            Py_DECREF(buf[i]);
    } else {
        for (Py_ssize_t i = 0; i < n; i++)
            PyList_SET_ITEM(list, i, buf[i]); /* steals */
    }
    if (buf != stack)
        PyMem_Free(buf);
    return list;
}

static Py_ssize_t pc_chan_py_max_items(PyObject *arg)
{
    Py_ssize_t n;
    if (PyBool_Check(arg) || !PyLong_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "max_items must be an int, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
    n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return -1;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "max_items must be at least 1");
        return -1;
    }
    return n;
}

/* recv_many(max_items, timeout=None) */
static PyObject *pc_chan_py_recv_many(pc_chan_py_handle *self, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t max_items;
    PyObject *list;
    if (nargs != 1 || kwnames != NULL)
        return pc_chan_py_call_slow((PyObject *)self, pc_chan_py_str_recv_many_slow,
                                    args, nargs, kwnames);
    max_items = pc_chan_py_max_items(args[0]);
    if (max_items < 0)
        return NULL;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    if (!pc_chan_py_fast_claim(self))
        return pc_chan_py_busy();
    list = pc_chan_py_pop_many_claimed(self, max_items);
    pc_chan_py_fast_unclaim(self);
    if (list == NULL || PyList_GET_SIZE(list) > 0)
        return list;
    Py_DECREF(list);
    return pc_chan_py_call_slow((PyObject *)self, pc_chan_py_str_recv_many_slow,
                                args, nargs, kwnames);
}

/* _claim(), _unclaim(), _pop(), _pop_many(n): the pieces of the Python slow
 * paths, which hold the claim across their waits. */
static PyObject *pc_chan_py_claim_m(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    if (!pc_chan_rx_claim(self->chan))
        return pc_chan_py_busy();
    Py_RETURN_NONE;
}

static PyObject *pc_chan_py_unclaim_m(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    pc_chan_py_unclaim(self);
    Py_RETURN_NONE;
}

static PyObject *pc_chan_py_pop_m(pc_chan_py_handle *self, PyObject *unused)
{
    PyObject *v;
    (void)unused;
    /* acquire: a close from another thread; it drains when we unclaim. */
    if (atomic_load_explicit(&self->closed, memory_order_acquire))
        return pc_chan_py_rx_closed_error();
    v = pc_chan_py_pop_claimed(self);
    if (v == pc_chan_py_EMPTY)
        Py_INCREF(v);
    return v;
}

static PyObject *pc_chan_py_pop_many_m(pc_chan_py_handle *self, PyObject *arg)
{
    Py_ssize_t n = pc_chan_py_max_items(arg);
    if (n < 0)
        return NULL;
    if (atomic_load_explicit(&self->closed, memory_order_acquire))
        return pc_chan_py_rx_closed_error();
    return pc_chan_py_pop_many_claimed(self, n);
}

static PyObject *pc_chan_py_rx_iternext(pc_chan_py_handle *self)
{
    PyObject *v;
    /* relaxed: iteration simply ends on a closed Receiver. */
    if (atomic_load_explicit(&self->closed, memory_order_relaxed))
        return NULL;
    if (!pc_chan_py_fast_claim(self))
        return pc_chan_py_busy();
    v = pc_chan_py_pop_claimed(self);
    pc_chan_py_fast_unclaim(self);
    if (PC_LIKELY(v != NULL && v != pc_chan_py_EMPTY))
        return v;
    if (v == pc_chan_py_EMPTY)
        v = PyObject_CallMethodNoArgs((PyObject *)self, pc_chan_py_str_recv_slow);
    if (v == NULL && PyErr_ExceptionMatches(pc_chan_py_Disconnected))
        PyErr_Clear(); /* the end of the iteration */
    return v;
}

/* close(): later receives raise Disconnected, sends raise SendError;
 * queued values are released. */
static PyObject *pc_chan_py_rx_close(pc_chan_py_handle *self, PyObject *unused)
{
    uint32_t expected = 0;
    (void)unused;
    /* seq_cst: exactly one close; and see pc_chan_py_unclaim. */
    if (atomic_exchange_explicit(&self->closed, 1, memory_order_seq_cst) != 0)
        Py_RETURN_NONE;
    pc_chan_rx_close(self->chan);
    /* If another thread holds the claim, it drains when it lets go
     * (pc_chan_py_unclaim).  seq_cst: see there. */
    if (atomic_compare_exchange_strong_explicit(&self->chan->rx_busy, &expected, 1,
                                                memory_order_seq_cst,
                                                memory_order_relaxed)) {
        pc_chan_drain(self->chan);
        pc_chan_rx_unclaim(self->chan);
    }
    Py_RETURN_NONE;
}

static Py_ssize_t pc_chan_py_rx_len(pc_chan_py_handle *self)
{
    uint64_t n;
    if (self->chan->kind != PC_CHAN_UNBOUNDED)
        return (Py_ssize_t)pc_chan_len(self->chan);
    if (!pc_chan_rx_claim(self->chan)) {
        pc_chan_py_busy();
        return -1;
    }
    n = pc_chan_len(self->chan);
    pc_chan_rx_unclaim(self->chan);
    return (Py_ssize_t)n;
}

static void pc_chan_py_rx_dealloc(pc_chan_py_handle *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->chan != NULL) {
        if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0) {
            pc_chan_rx_close(self->chan);
            /* Nobody else can hold the claim of an unreachable Receiver. */
            if (pc_chan_rx_claim(self->chan)) {
                pc_chan_drain(self->chan);
                pc_chan_rx_unclaim(self->chan);
            }
        }
        pc_chan_unref(self->chan);
        self->chan = NULL;
    }
    tp->tp_free((PyObject *)self);
}

/* ----------------------------------------------------------- shared bits */

static PyObject *pc_chan_py_get_closed(pc_chan_py_handle *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(atomic_load_explicit(&self->closed, memory_order_relaxed));
}

static PyObject *pc_chan_py_get_addr(pc_chan_py_handle *self, void *unused)
{
    (void)unused;
    return PyLong_FromVoidPtr(self->chan);
}

/* _state() -> (kind, capacity, senders alive, receiver closed, a thread is
 * receiving) for repr and the rendezvous try_send. */
static PyObject *pc_chan_py_state(pc_chan_py_handle *self, PyObject *unused)
{
    pc_chan_t *c = self->chan;
    (void)unused;
    return Py_BuildValue(
        "iKLii", c->kind,
        (unsigned long long)(c->kind == PC_CHAN_UNBOUNDED ? 0 : c->ring.cap),
        (long long)atomic_load_explicit(&c->senders, memory_order_relaxed),
        (int)atomic_load_explicit(&c->rx_closed, memory_order_relaxed),
        (int)atomic_load_explicit(&c->rx_busy, memory_order_relaxed));
}

static PyMethodDef pc_chan_py_sender_methods[] = {
    {"send", (PyCFunction)pc_chan_py_send, METH_O,
     "send(value) -> None\n\nQueue value for the Receiver.  channel(): never waits.  "
     "sync_channel(n): waits while n values are queued.  sync_channel(0): waits "
     "until the Receiver has taken it.  Waits release the GIL and let Ctrl-C "
     "through.  Raises SendError (value in .value) if the Receiver is closed, "
     "ChannelError if this Sender is closed."},
    {"try_send", (PyCFunction)pc_chan_py_try_send, METH_O,
     "try_send(value) -> None\n\nAs send(), but never waits: raises Full (value in "
     ".value) when a bounded channel is full, or, for sync_channel(0), when no "
     "receiver is receiving right now."},
    {"send_many", (PyCFunction)pc_chan_py_send_many, METH_O,
     "send_many(iterable) -> None\n\nSend every value of iterable, in order, in batches "
     "of 64 (on channel(), one atomic exchange per batch).  Waits as send() does.  "
     "If the Receiver is closed, raises SendError whose .value lists the values "
     "not sent."},
    {"_send_chunks", (PyCFunction)pc_chan_py_send_chunks_m, METH_O, NULL},
    {"clone", (PyCFunction)pc_chan_py_clone, METH_NOARGS,
     "clone() -> Sender\n\nAnother Sender of the same channel; the channel stays "
     "connected until every Sender is closed or garbage-collected."},
    {"close", (PyCFunction)pc_chan_py_sender_close, METH_NOARGS,
     "close() -> None\n\nThis Sender is done (idempotent).  When the last Sender "
     "closes, the Receiver gets what is queued, then Disconnected."},
    {"_push", (PyCFunction)pc_chan_py_push, METH_O, NULL},
    {"_retract", (PyCFunction)(void (*)(void))pc_chan_py_retract, METH_FASTCALL, NULL},
    {"_delivered", (PyCFunction)pc_chan_py_delivered, METH_O, NULL},
    {"_state", (PyCFunction)pc_chan_py_state, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef pc_chan_py_rx_methods[] = {
    {"recv", (PyCFunction)(void (*)(void))pc_chan_py_recv, METH_FASTCALL | METH_KEYWORDS,
     "recv(timeout=None) -> value\n\nTake the oldest value, waiting for one: without "
     "limit if timeout is None, else at most timeout seconds, then raise Timeout.  "
     "Raises Disconnected once every Sender is gone and nothing is left.  Waits "
     "release the GIL and let Ctrl-C through."},
    {"try_recv", (PyCFunction)pc_chan_py_try_recv, METH_NOARGS,
     "try_recv() -> value\n\nTake the oldest value without waiting; raises Empty if "
     "there is none (and senders remain), Disconnected if every Sender is gone."},
    {"recv_many", (PyCFunction)(void (*)(void))pc_chan_py_recv_many, METH_FASTCALL | METH_KEYWORDS,
     "recv_many(max_items, timeout=None) -> list\n\nWait as recv() does for the first "
     "value, then return it with whatever else is queued, up to max_items values."},
    {"close", (PyCFunction)pc_chan_py_rx_close, METH_NOARGS,
     "close() -> None\n\nClose the receiving end (idempotent): the values queued are "
     "released, later sends raise SendError, later receives Disconnected."},
    {"_claim", (PyCFunction)pc_chan_py_claim_m, METH_NOARGS, NULL},
    {"_unclaim", (PyCFunction)pc_chan_py_unclaim_m, METH_NOARGS, NULL},
    {"_pop", (PyCFunction)pc_chan_py_pop_m, METH_NOARGS, NULL},
    {"_pop_many", (PyCFunction)pc_chan_py_pop_many_m, METH_O, NULL},
    {"_state", (PyCFunction)pc_chan_py_state, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pc_chan_py_getset[] = {
    {"closed", (getter)pc_chan_py_get_closed, NULL,
     "True once close() was called on this handle.", NULL},
    {"_addr", (getter)pc_chan_py_get_addr, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods pc_chan_py_rx_as_sequence = {
    .sq_length = (lenfunc)pc_chan_py_rx_len,
};

static PyObject *pc_chan_py_no_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    PyErr_Format(PyExc_TypeError,
                 "cannot create '%.100s' instances directly; use "
                 "pyconc.channel() or pyconc.sync_channel()",
                 type->tp_name);
    return NULL;
}

static PyObject *pc_chan_py_self_iter(PyObject *self)
{
    return Py_NewRef(self);
}

static PyTypeObject pc_chan_py_SenderBase = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyconc._core._SenderBase",
    .tp_basicsize = sizeof(pc_chan_py_handle),
    .tp_dealloc = (destructor)pc_chan_py_sender_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_methods = pc_chan_py_sender_methods,
    .tp_getset = pc_chan_py_getset,
    .tp_new = pc_chan_py_no_new,
};

static PyTypeObject pc_chan_py_ReceiverBase = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyconc._core._ReceiverBase",
    .tp_basicsize = sizeof(pc_chan_py_handle),
    .tp_dealloc = (destructor)pc_chan_py_rx_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_methods = pc_chan_py_rx_methods,
    .tp_getset = pc_chan_py_getset,
    .tp_as_sequence = &pc_chan_py_rx_as_sequence,
    .tp_iter = pc_chan_py_self_iter,
    .tp_iternext = (iternextfunc)pc_chan_py_rx_iternext,
    .tp_new = pc_chan_py_no_new,
};

/* _new_channel(kind, capacity, sender_type, receiver_type) -> (tx, rx) */
static PyObject *pc_chan_py_new_channel(PyObject *module, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    int kind;
    unsigned long long cap;
    PyObject *tx, *rx, *res;
    pc_chan_t *c;
    (void)module;
    if (nargs != 4 || !PyType_Check(args[2]) || !PyType_Check(args[3]) ||
        !PyType_IsSubtype((PyTypeObject *)args[2], &pc_chan_py_SenderBase) ||
        !PyType_IsSubtype((PyTypeObject *)args[3], &pc_chan_py_ReceiverBase)) {
        PyErr_SetString(PyExc_TypeError,
                        "_new_channel(kind, capacity, sender_type, receiver_type)");
        return NULL;
    }
    {
        long k = PyLong_AsLong(args[0]);
        if (k == -1 && PyErr_Occurred())
            return NULL;
        kind = (k < 0 || k > 1000) ? -1 : (int)k;
    }
    cap = PyLong_AsUnsignedLongLong(args[1]);
    if (cap == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    c = pc_chan_new(kind, (uint64_t)cap, pc_chan_py_drop);
    if (c == NULL) {
        if (kind < PC_CHAN_UNBOUNDED || kind > PC_CHAN_RENDEZVOUS ||
            (kind == PC_CHAN_BOUNDED && cap < 1))
            PyErr_SetString(PyExc_ValueError, "bad channel kind or capacity");
        else
            PyErr_NoMemory();
        return NULL;
    }
    tx = pc_chan_py_new_sender((PyTypeObject *)args[2], c);
    if (tx == NULL) {
        pc_chan_sender_drop(c);
        pc_chan_unref(c);
        pc_chan_rx_close(c);
        pc_chan_unref(c);
        return NULL;
    }
    rx = ((PyTypeObject *)args[3])->tp_alloc((PyTypeObject *)args[3], 0);
    if (rx == NULL) {
        Py_DECREF(tx); /* drops the sender's reference */
        pc_chan_rx_close(c);
        pc_chan_unref(c);
        return NULL;
    }
    ((pc_chan_py_handle *)rx)->chan = c;
    atomic_store_explicit(&((pc_chan_py_handle *)rx)->closed, 0, memory_order_relaxed);
    res = PyTuple_Pack(2, tx, rx);
    Py_DECREF(tx);
    Py_DECREF(rx);
    return res;
}

static PyMethodDef pc_chan_py_new_channel_def = {
    "_new_channel", (PyCFunction)(void (*)(void))pc_chan_py_new_channel,
    METH_FASTCALL, NULL};

static int pc_chan_py_take(PyObject *ns, const char *name, PyObject **slot)
{
    PyObject *o = PyDict_GetItemString(ns, name); /* borrowed */
    if (o == NULL) {
        PyErr_Format(PyExc_KeyError, "pc_chan_py_install: %s missing", name);
        return -1;
    }
    Py_INCREF(o);
    Py_XSETREF(*slot, o);
    return 0;
}

static int pc_chan_py_intern(const char *s, PyObject **slot)
{
    PyObject *o = PyUnicode_InternFromString(s);
    if (o == NULL)
        return -1;
    Py_XSETREF(*slot, o);
    return 0;
}

/*
 * Called once by pyconc/channel.py with id() of a dict holding the error
 * types and the sentinel; adds _SenderBase, _ReceiverBase and _new_channel
 * to it.  Returns 0, or -1 with a Python exception set (cffi reports it
 * as "unraisable", so channel.py checks the dict instead).
 */
int pc_chan_py_install(intptr_t ns_address)
{
    PyObject *ns = (PyObject *)ns_address;
    PyObject *fn;
    if (!PyDict_Check(ns))
        return -1;
    if (pc_chan_py_take(ns, "ChannelError", &pc_chan_py_ChannelError) < 0 ||
        pc_chan_py_take(ns, "SendError", &pc_chan_py_SendError) < 0 ||
        pc_chan_py_take(ns, "Empty", &pc_chan_py_Empty) < 0 ||
        pc_chan_py_take(ns, "Full", &pc_chan_py_Full) < 0 ||
        pc_chan_py_take(ns, "Disconnected", &pc_chan_py_Disconnected) < 0 ||
        pc_chan_py_take(ns, "EMPTY", &pc_chan_py_EMPTY) < 0 ||
        pc_chan_py_intern("_send_slow", &pc_chan_py_str_send_slow) < 0 ||
        pc_chan_py_intern("_recv_slow", &pc_chan_py_str_recv_slow) < 0 ||
        pc_chan_py_intern("_recv_many_slow", &pc_chan_py_str_recv_many_slow) < 0 ||
        pc_chan_py_intern("_try_send_rendezvous", &pc_chan_py_str_try_send_rendezvous) < 0 ||
        pc_chan_py_intern("_send_many_slow", &pc_chan_py_str_send_many_slow) < 0)
        goto error;
    if (PyType_Ready(&pc_chan_py_SenderBase) < 0 ||
        PyType_Ready(&pc_chan_py_ReceiverBase) < 0)
        goto error;
    fn = PyCFunction_New(&pc_chan_py_new_channel_def, NULL);
    if (fn == NULL)
        goto error;
    if (PyDict_SetItemString(ns, "_new_channel", fn) < 0) {
        Py_DECREF(fn);
        goto error;
    }
    Py_DECREF(fn);
    if (PyDict_SetItemString(ns, "_SenderBase", (PyObject *)&pc_chan_py_SenderBase) < 0 ||
        PyDict_SetItemString(ns, "_ReceiverBase", (PyObject *)&pc_chan_py_ReceiverBase) < 0)
        goto error;
    return 0;
error:
    PyErr_Clear();
    return -1;
}

#endif /* PC_CHAN_PY_H */
