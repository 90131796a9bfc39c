/*
 * pyglue/pc_chan_py.h - pyconc.Sender and pyconc.Receiver, the channel's
 * handles, as C types (CPython C API; included by pc_py_module.h only).
 *
 * Each handle points at its pc_chan_t (pc_chan.h), which it keeps alive by
 * the channel's own reference count: the pointer is set in the module
 * function that makes the pair and never changes; no address reaches
 * Python.  Every method is one C call.  A blocking one (send on a full
 * bounded channel, the hand-over of sync_channel(0), recv, recv_many,
 * send_many, send_timeout, recv(timeout)) is the channel's try-operation
 * plus the one wait of pc_py.h (pc_py_wait: try with the GIL, park a slice
 * without it, run the signal handlers, try again until the deadline): no
 * Python frame anywhere, so Ctrl-C lands only where pc_py_wait checks for
 * it, between a try that did nothing and the next.
 *
 * Ownership: a queued value holds one strong reference, taken by the send
 * (Py_INCREF) and handed to the receiver by the pop; values dropped by the
 * channel (receiver closed, channel freed) are released with Py_DECREF.
 * Pushes and pops run only with the GIL held (never inside a park), so the
 * queue is stable whenever the GIL is held: the Receiver's tp_traverse
 * walks it (pc_chan_foreach) to show the collector the queued values.
 * Only a Receiver visits them (the values are its to receive, and
 * closing the last one releases them), and only while it is the one open
 * Receiver of its channel (each value is one reference); a Sender holds
 * no Python reference and is not a GC type.
 *
 * Many receivers: Receiver.clone() gives more, and any number of threads
 * may receive through one Receiver at once.  Pops must be serialised
 * (pc_chan.h): with the GIL they are, because every pop runs with the GIL
 * held and never lets go of it midway (the waits, without the GIL, only
 * look); without the GIL every pop takes the channel's consumer lock
 * (PC_CHAN_PY_LOCK), held for the pop only.
 *
 * What protects the state without the GIL (free-threaded builds):
 *   - pc_chan_t: its own atomics (pc_chan.h); pops take the consumer lock.
 *   - each handle's `closed` flag: an atomic exchange, so close() takes
 *     effect once even when two threads race to close one handle.
 *   - `chan` never changes after construction; the handle's channel
 *     reference is dropped only in tp_dealloc.
 *   - the collector's traversal runs with the world stopped.
 *   - Py_INCREF/Py_DECREF are thread-safe on free-threaded builds.
 * The type objects and exception classes are set once, in the module's
 * init, before any handle exists.
 *
 * Length: two C types, Sender and Receiver, over one channel, with the
 * blocking, batched and iterator forms of every operation, and the select
 * and asyncio entry points the other files call; split when pyglue becomes
 * translation units (issue 16's last part).
 */
#ifndef PC_CHAN_PY_H
#define PC_CHAN_PY_H

#include "pc_chan.h"

#include <stdio.h>
#include <string.h>

#include <structmember.h> /* PyMemberDef for __weaklistoffset__ (3.11) */

/* The slow halves of the hot methods stay out of line, so that the fast
 * path (one try, with the GIL) is a small function. */
#if defined(_MSC_VER)
#define PC_CHAN_PY_COLD static __declspec(noinline)
#else
#define PC_CHAN_PY_COLD static __attribute__((noinline, cold))
#endif

/* Values moved per batch by send_many, and kept on the stack by recv_many. */
#define PC_CHAN_PY_CHUNK 64

/* send_many yields the GIL to a thread waiting for it at most once per
 * this many values (see pc_chan_py_send_many). */
#define PC_CHAN_PY_YIELD_EVERY 1024

static PyTypeObject *pc_chan_py_Sender;
static PyTypeObject *pc_chan_py_Receiver;
static PyObject *pc_chan_py_str_value;    /* "value", interned */

typedef struct {
    PyObject_HEAD
    pc_chan_t *chan;
    _Atomic uint32_t closed;
    uint32_t unyielded; /* Sender: values sent in batches since it last
                         * yielded the GIL (pc_chan_py_send_many) */
    PyObject *weakrefs;
} pc_chan_py_handle;

static void pc_chan_py_drop(void *value)
{
    Py_DECREF((PyObject *)value);
}

/* ---------------------------------------------------------------- errors */

static const char pc_chan_py_msg_tx_closed[] = "this Sender is closed";
static const char pc_chan_py_msg_rx_closed[] = "receiving on a closed Receiver";
static const char pc_chan_py_msg_disconnected[] =
    "every Sender is gone and the channel is empty";
static const char pc_chan_py_msg_send_closed[] =
    "sending on a channel whose Receiver is closed; the value is in .value";
static const char pc_chan_py_msg_full[] = "the channel is full; the value is in .value";
static const char pc_chan_py_msg_no_receiver[] =
    "no receiver was ready to take the value; it is in .value";

/* Timeout("<what> timed out after <t> s"), with .value = value if given
 * (a send's value, handed back). */
static PyObject *pc_chan_py_timed_out(const char *what, int64_t timeout_ns,
                                      PyObject *value)
{
    char msg[96];
    PyObject *exc;
    snprintf(msg, sizeof msg, "%s timed out after %g s", what,
             (double)timeout_ns / 1e9);
    exc = PyObject_CallFunction(pc_py_exc[PC_TIMEOUT], "s", msg);
    if (exc == NULL)
        return NULL;
    if (value != NULL && PyObject_SetAttr(exc, pc_chan_py_str_value, value) < 0) {
        Py_DECREF(exc);
        return NULL;
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

/* The exception of a send of `value` that ended with status st. */
static PyObject *pc_chan_py_send_failed(pc_status st, PyObject *value,
                                        const char *what, int64_t timeout_ns)
{
    switch (st) {
    case PC_CLOSED:
        return pc_py_raise_value(PC_CLOSED, value, pc_chan_py_msg_send_closed);
    case PC_HANDLE_CLOSED:
        return pc_py_raise(PC_HANDLE_CLOSED, pc_chan_py_msg_tx_closed);
    case PC_FULL:
        return pc_py_raise_value(PC_FULL, value, pc_chan_py_msg_full);
    case PC_TIMEOUT:
        return pc_chan_py_timed_out(what, timeout_ns, value);
    default:
        return pc_py_raise(st, NULL);
    }
}

/* The exception of a receive that ended with status st. */
static PyObject *pc_chan_py_recv_failed(pc_status st, const char *what,
                                        int64_t timeout_ns)
{
    switch (st) {
    case PC_CLOSED:
        return pc_py_raise(PC_CLOSED, pc_chan_py_msg_disconnected);
    case PC_HANDLE_CLOSED:
        return pc_py_raise(PC_HANDLE_CLOSED, pc_chan_py_msg_rx_closed);
    case PC_EMPTY:
        return pc_py_raise(PC_EMPTY, "the channel is empty");
    case PC_TIMEOUT:
        return pc_chan_py_timed_out(what, timeout_ns, NULL);
    default:
        return pc_py_raise(st, NULL);
    }
}

/* ----------------------------------------------------- argument parsing */

/*
 * Positional-or-keyword arguments of a METH_FASTCALL|METH_KEYWORDS method,
 * by hand (cheap): names[0..nmax) in order, the first nreq required.
 * out[] receives borrowed references, NULL for those not given.  0, or -1
 * with TypeError set.
 */
static int pc_chan_py_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames, const char *const *names, int nreq,
                           int nmax, PyObject **out)
{
    return pc_py_parse_args(fname, args, nargs, kwnames, names, nmax, nreq, out);
}

/* ----------------------------------------------------------------- Sender */

static int pc_chan_py_sender_open(pc_chan_py_handle *self)
{
    /* relaxed: a use-after-close check; close() itself is the exchange. */
    if (PC_UNLIKELY(atomic_load_explicit(&self->closed, memory_order_relaxed))) {
        pc_py_raise(PC_HANDLE_CLOSED, pc_chan_py_msg_tx_closed);
        return 0;
    }
    return 1;
}

/*
 * One send as pc_py_wait's try/park pair.  On sync_channel(0) a send has
 * two phases: push the value into the one slot (waiting for room), then
 * wait until the receiver has taken it.  The park of the second phase
 * takes the value back (pc_chan_retract) whenever it returns without a
 * delivery, so that when pc_py_wait then runs the signal handlers the
 * value is the caller's again: a Ctrl-C never leaves a value both raised
 * about and delivered.  The next try pushes it again.
 */
typedef struct {
    pc_chan_py_handle *h;
    PyObject *value; /* borrowed: the caller's */
    uint64_t pos;    /* rendezvous: where the value was pushed */
    int queued;      /* rendezvous: the channel holds the value at pos */
    int owed;        /* a reference given back by a retraction in park
                      * (without the GIL), to drop with the GIL */
} pc_chan_py_send_op;

static void pc_chan_py_send_settle(pc_chan_py_send_op *op)
{
    if (op->owed) {
        op->owed = 0;
        Py_DECREF(op->value);
    }
}

static pc_status pc_chan_py_send_try(void *arg)
{
    pc_chan_py_send_op *op = (pc_chan_py_send_op *)arg;
    pc_chan_t *c = op->h->chan;
    int r;
    pc_chan_py_send_settle(op);
    if (!op->queued) {
        /* relaxed: a use-after-close check (close() from another thread). */
        if (atomic_load_explicit(&op->h->closed, memory_order_relaxed))
            return PC_HANDLE_CLOSED;
        Py_INCREF(op->value); /* the queue's reference */
        r = pc_chan_trysend(c, op->value, &op->pos);
        if (r != PC_CHAN_OK) {
            Py_DECREF(op->value);
            return r == PC_CHAN_FULL ? PC_AGAIN : r == PC_CHAN_CLOSED ? PC_CLOSED : PC_NOMEM;
        }
        if (c->kind != PC_CHAN_RENDEZVOUS)
            return PC_OK;
        op->queued = 1;
    }
    if (pc_chan_delivered(c, op->pos)) {
        op->queued = 0;
        return PC_OK;
    }
    /* relaxed: rx_close's own store is seq_cst and followed by a wake-up;
     * this is a re-check after it. */
    if (atomic_load_explicit(&c->rx_closed, memory_order_relaxed)) {
        op->queued = 0;
        if (!pc_chan_retract(c, op->pos))
            return PC_OK; /* taken before the close */
        Py_DECREF(op->value);
        return PC_CLOSED;
    }
    return PC_AGAIN;
}

static pc_status pc_chan_py_send_park(void *arg, int64_t slice_ns)
{
    pc_chan_py_send_op *op = (pc_chan_py_send_op *)arg;
    pc_chan_t *c = op->h->chan;
    if (!op->queued) {
        (void)pc_chan_send_wait(c, -1, slice_ns);
        return PC_AGAIN;
    }
    (void)pc_chan_send_wait(c, (int64_t)op->pos, slice_ns);
    op->queued = 0;
    if (pc_chan_delivered(c, op->pos) || !pc_chan_retract(c, op->pos))
        return PC_OK; /* received: the send is done */
    op->owed = 1;     /* ours again: try pushes it anew */
    return PC_AGAIN;
}

/* After pc_py_wait: a rendezvous value still queued (the deadline passed
 * between a push and its delivery) is taken back, unless it was received
 * at the last moment, which makes the send a success. */
static pc_status pc_chan_py_send_finish(pc_chan_py_send_op *op, pc_status st)
{
    pc_chan_py_send_settle(op);
    if (op->queued) {
        op->queued = 0;
        if (pc_chan_retract(op->h->chan, op->pos))
            Py_DECREF(op->value);
        else if (st != PC_INTERRUPTED)
            st = PC_OK;
    }
    return st;
}

/* Send, waiting in C for at most timeout_ns; `op` may come with the value
 * already pushed (a rendezvous fast path).  full_is_full: a timeout is
 * reported as Full (try_send). */
PC_CHAN_PY_COLD PyObject *pc_chan_py_send_wait(pc_chan_py_send_op *op, int64_t timeout_ns,
                                      const char *what, int full_is_full)
{
    pc_status st = pc_py_wait(op, pc_chan_py_send_try, pc_chan_py_send_park,
                              timeout_ns, 1);
    st = pc_chan_py_send_finish(op, st);
    if (PC_LIKELY(st == PC_OK))
        Py_RETURN_NONE;
    if (st == PC_TIMEOUT && full_is_full) {
        if (op->h->chan->kind == PC_CHAN_RENDEZVOUS)
            return pc_py_raise_value(PC_FULL, op->value, pc_chan_py_msg_no_receiver);
        st = PC_FULL;
    }
    return pc_chan_py_send_failed(st, op->value, what, timeout_ns);
}

/* send's other half: r is the first try's result (the value's reference
 * taken for the queue is still ours unless it was queued). */
PC_CHAN_PY_COLD PyObject *pc_chan_py_send_slow(pc_chan_py_handle *self, PyObject *value,
                                               int r, uint64_t pos)
{
    pc_chan_py_send_op op = {self, value, pos, 0, 0};
    if (r == PC_CHAN_OK) {
        op.queued = 1; /* a rendezvous: wait for the hand-over */
    } else {
        Py_DECREF(value);
        if (r == PC_CHAN_CLOSED)
            return pc_chan_py_send_failed(PC_CLOSED, value, "send", 0);
        if (r == PC_CHAN_NOMEM)
            return PyErr_NoMemory();
    }
    return pc_chan_py_send_wait(&op, PC_PY_FOREVER, "send", 0);
}

static void pc_chan_py_yield_gil(void);

/* send's yield, every PC_CHAN_PY_YIELD_EVERY values (GIL builds). */
PC_CHAN_PY_COLD void pc_chan_py_send_yield(pc_chan_py_handle *self)
{
    self->unyielded = 0;
    /* relaxed: hints.  A receiver of this channel is inside a blocking
     * receive, and some thread is on its way back to the GIL. */
    if (atomic_load_explicit(&self->chan->rx_waiting, memory_order_relaxed) != 0 &&
        pc_handoff_gil_wanted())
        pc_chan_py_yield_gil();
}

/* send(value): queue the value; on a full bounded channel wait for room,
 * on a rendezvous for the receiver to take it. */
static PyObject *pc_chan_py_send(pc_chan_py_handle *self, PyObject *value)
{
    uint64_t pos = 0;
    int r;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    Py_INCREF(value); /* the queue's reference */
    r = pc_chan_trysend(self->chan, value, &pos);
    if (PC_LIKELY(r == PC_CHAN_OK) && PC_LIKELY(self->chan->kind == PC_CHAN_UNBOUNDED)) {
#ifndef Py_GIL_DISABLED /* no GIL to give; and the count is a plain field */
        /* As send_many does (see there): a sender on an unbounded channel
         * never waits, so it would keep the GIL for the whole switch
         * interval (5 ms) while a woken receiver sleeps in take_gil and
         * the backlog outgrows the caches (issue 13: unbatched send/recv
         * measured 0.9x queue.SimpleQueue so).  Every
         * PC_CHAN_PY_YIELD_EVERY values, if a receiver of this channel is
         * on its way back to the GIL from its wait, let it have it: one
         * increment per send otherwise. */
        if (PC_UNLIKELY(++self->unyielded >= PC_CHAN_PY_YIELD_EVERY))
            pc_chan_py_send_yield(self);
#endif
        Py_RETURN_NONE;
    }
    if (PC_LIKELY(r == PC_CHAN_OK) && PC_LIKELY(self->chan->kind != PC_CHAN_RENDEZVOUS))
        Py_RETURN_NONE;
    return pc_chan_py_send_slow(self, value, r, pos);
}

/* try_send(value): queue without waiting, or raise Full / SendError.  On a
 * rendezvous: only if the receiver is receiving now (then wait, at most one
 * slice, for the hand-over). */
static PyObject *pc_chan_py_try_send(pc_chan_py_handle *self, PyObject *value)
{
    int r;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    if (self->chan->kind == PC_CHAN_RENDEZVOUS) {
        pc_chan_py_send_op op = {self, value, 0, 0, 0};
        /* relaxed: a hint; a receiver that comes later just misses it. */
        int receiving = atomic_load_explicit(&self->chan->rx_waiting, memory_order_relaxed) != 0;
        return pc_chan_py_send_wait(&op, receiving ? PC_WAIT_SLICE_NS : 0, "try_send", 1);
    }
    Py_INCREF(value);
    r = pc_chan_trysend(self->chan, value, NULL);
    if (PC_LIKELY(r == PC_CHAN_OK))
        Py_RETURN_NONE;
    Py_DECREF(value);
    if (r == PC_CHAN_FULL)
        return pc_chan_py_send_failed(PC_FULL, value, "try_send", 0);
    if (r == PC_CHAN_CLOSED)
        return pc_chan_py_send_failed(PC_CLOSED, value, "try_send", 0);
    return PyErr_NoMemory();
}

/* send_timeout(value, timeout) */
static PyObject *pc_chan_py_send_timeout(pc_chan_py_handle *self, PyObject *const *args,
                                         Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"value", "timeout"};
    PyObject *a[2];
    int64_t ns;
    if (pc_chan_py_args("send_timeout", args, nargs, kwnames, names, 2, 2, a) < 0)
        return NULL;
    if (pc_py_seconds_ns(a[1], 0, &ns) < 0)
        return NULL;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    {
        pc_chan_py_send_op op = {self, a[0], 0, 0, 0};
        return pc_chan_py_send_wait(&op, ns, "send_timeout", 0);
    }
}

/* A batch of owned references buf[done..n) for pc_py_wait: push as many as
 * there is room for (one atomic exchange on channel()), wait for room. */
typedef struct {
    pc_chan_py_handle *h;
    PyObject **buf;
    Py_ssize_t n, done;
} pc_chan_py_batch_op;

static pc_status pc_chan_py_batch_try(void *arg)
{
    pc_chan_py_batch_op *op = (pc_chan_py_batch_op *)arg;
    size_t sent = 0;
    int r;
    /* relaxed: a use-after-close check (close() from another thread). */
    if (atomic_load_explicit(&op->h->closed, memory_order_relaxed))
        return PC_HANDLE_CLOSED;
    r = pc_chan_trysend_many(op->h->chan, (void *const *)(op->buf + op->done),
                             (size_t)(op->n - op->done), &sent);
    op->done += (Py_ssize_t)sent; /* those references are the queue's now */
    if (op->done == op->n)
        return PC_OK;
    if (r == PC_CHAN_CLOSED)
        return PC_CLOSED;
    if (r == PC_CHAN_NOMEM)
        return PC_NOMEM;
    return PC_AGAIN;
}

static pc_status pc_chan_py_batch_park(void *arg, int64_t slice_ns)
{
    pc_chan_py_batch_op *op = (pc_chan_py_batch_op *)arg;
    (void)pc_chan_send_wait(op->h->chan, -1, slice_ns);
    return PC_AGAIN;
}

/* Send the owned references buf[0..n), waiting as send() does; *done
 * receives how many were sent (the channel owns those; the caller still
 * owns the rest). */
static pc_status pc_chan_py_send_batch(pc_chan_py_handle *self, PyObject **buf,
                                       Py_ssize_t n, Py_ssize_t *done)
{
    pc_status st;
    if (self->chan->kind == PC_CHAN_RENDEZVOUS) {
        /* Each value has its own hand-over. */
        for (*done = 0; *done < n; (*done)++) {
            pc_chan_py_send_op op = {self, buf[*done], 0, 0, 0};
            st = pc_py_wait(&op, pc_chan_py_send_try, pc_chan_py_send_park,
                            PC_PY_FOREVER, 1);
            st = pc_chan_py_send_finish(&op, st);
            if (st != PC_OK)
                return st;
            Py_DECREF(buf[*done]); /* the channel took its own */
        }
        return PC_OK;
    }
    {
        pc_chan_py_batch_op op = {self, buf, n, 0};
        st = pc_py_wait(&op, pc_chan_py_batch_try, pc_chan_py_batch_park,
                        PC_PY_FOREVER, 1);
        *done = op.done;
        return st;
    }
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

/* Make `context` (a stolen (type, value, tb) triple, may be all NULL) the
 * __context__ of the exception now set, as a raise in an except block
 * would. */
static void pc_chan_py_chain(PyObject *type, PyObject *value, PyObject *tb)
{
    PyObject *t, *v, *b;
    if (type == NULL)
        return;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    PyErr_Fetch(&t, &v, &b);
    PyErr_NormalizeException(&t, &v, &b);
    if (v != NULL && value != NULL && v != value)
        PyException_SetContext(v, value); /* steals value */
    else
        Py_XDECREF(value);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyErr_Restore(t, v, b);
}

/* Hand the list `rest` back in the exception now set, as its .value (an
 * exception raised while send_many waited: Ctrl-C, MemoryError, a close
 * of this Sender).  Steals rest. */
static void pc_chan_py_hand_back(PyObject *rest)
{
    PyObject *t, *v, *b;
    PyErr_Fetch(&t, &v, &b);
    PyErr_NormalizeException(&t, &v, &b);
    if (v != NULL && PyObject_SetAttr(v, pc_chan_py_str_value, rest) < 0)
        PyErr_Clear(); /* an exception without attributes: nothing to do */
    Py_DECREF(rest);
    PyErr_Restore(t, v, b);
}

/* Iterators whose rest may be listed in a SendError (they end). */
static int pc_chan_py_finite_iterator(PyObject *it)
{
    return Py_IS_TYPE(it, &PyListIter_Type) || Py_IS_TYPE(it, &PyTupleIter_Type) ||
           Py_IS_TYPE(it, &PyRangeIter_Type);
}

/*
 * send_many(iterable): take values from the iterator in chunks and send
 * each chunk as one batch, waiting in C for room.  Nothing taken is lost:
 *   - the iterator raises: the values it yielded are sent first, then its
 *     exception propagates (as a loop of send() calls would have it);
 *   - the Receiver is closed: SendError, .value = the values not sent (for
 *     a list, tuple or range, the rest of it too);
 *   - an exception while waiting (Ctrl-C, this Sender closed by another
 *     thread, MemoryError): that exception, with the values taken and
 *     not sent in its .value.
 */
static PyObject *pc_chan_py_send_many(pc_chan_py_handle *self, PyObject *values)
{
    PyObject *buf[PC_CHAN_PY_CHUNK];
    PyObject *it, *rest, *et = NULL, *ev = NULL, *etb = NULL;
    Py_ssize_t n, done = 0, i;
    pc_status st = PC_OK;
    int iter_failed = 0;

    if (!pc_chan_py_sender_open(self))
        return NULL;
    it = PyObject_GetIter(values);
    if (it == NULL)
        return NULL;
    for (;;) {
        for (n = 0; n < PC_CHAN_PY_CHUNK; n++) {
            PyObject *v = PyIter_Next(it);
            if (v == NULL)
                break;
            buf[n] = v;
        }
        if (n < PC_CHAN_PY_CHUNK && PyErr_Occurred()) {
            iter_failed = 1;
            PyErr_Fetch(&et, &ev, &etb);
        }
        done = 0;
        if (n > 0 && (st = pc_chan_py_send_batch(self, buf, n, &done)) != PC_OK)
            break;
#ifndef Py_GIL_DISABLED /* no GIL to give; and the count is a plain field */
        /*
         * An unbounded channel never makes a sender wait, so a sender with
         * much to send keeps the GIL until the interpreter's switch
         * interval (5 ms) takes it away; meanwhile the receiver, woken,
         * waits, and the values pile up beyond the caches.  So every
         * PC_CHAN_PY_YIELD_EVERY values, if a thread is on its way back to
         * the GIL from a pyconc wait (the receiver, say), let it have it.
         */
        self->unyielded += (uint32_t)n;
        if (self->unyielded >= PC_CHAN_PY_YIELD_EVERY) {
            self->unyielded = 0;
            if (pc_handoff_gil_wanted())
                pc_chan_py_yield_gil();
        }
#endif
        if (iter_failed) {
            Py_DECREF(it);
            PyErr_Restore(et, ev, etb);
            return NULL;
        }
        if (n < PC_CHAN_PY_CHUNK) {
            Py_DECREF(it);
            Py_RETURN_NONE;
        }
    }
    /* buf[done..n) were taken and not sent: hand them back. */
    rest = PyList_New(n - done);
    if (rest == NULL) {
        for (i = done; i < n; i++)
            Py_DECREF(buf[i]);
        Py_DECREF(it);
        pc_chan_py_chain(et, ev, etb);
        return NULL;
    }
    for (i = done; i < n; i++)
        PyList_SET_ITEM(rest, i - done, buf[i]); /* steals */
    if (st == PC_CLOSED) {
        if (!iter_failed && pc_chan_py_finite_iterator(it)) {
            PyObject *v;
            while ((v = PyIter_Next(it)) != NULL) {
                int bad = PyList_Append(rest, v);
                Py_DECREF(v);
                if (bad < 0)
                    break;
            }
            PyErr_Clear(); /* a list, tuple or range iterator cannot fail
                            * but for memory: the rest stays in `it` */
        }
        pc_py_raise_value(PC_CLOSED, rest,
                          "sending on a channel whose Receiver is closed; the "
                          "values not sent are in .value");
        Py_DECREF(rest);
    } else {
        if (st != PC_INTERRUPTED)
            pc_py_raise(st, st == PC_HANDLE_CLOSED ? pc_chan_py_msg_tx_closed : NULL);
        pc_chan_py_hand_back(rest);
    }
    Py_DECREF(it);
    pc_chan_py_chain(et, ev, etb);
    return NULL;
}

static PyObject *pc_chan_py_new_handle(PyTypeObject *type, pc_chan_t *chan)
{
    pc_chan_py_handle *h = (pc_chan_py_handle *)type->tp_alloc(type, 0);
    if (h == NULL)
        return NULL;
    h->chan = chan;
    h->unyielded = 0;
    h->weakrefs = NULL;
    /* relaxed: the handle is not shared yet. */
    atomic_store_explicit(&h->closed, 0, memory_order_relaxed);
    return (PyObject *)h;
}

/* clone() -> Sender */
static PyObject *pc_chan_py_clone(pc_chan_py_handle *self, PyObject *unused)
{
    PyObject *o;
    (void)unused;
    if (!pc_chan_py_sender_open(self))
        return NULL;
    pc_chan_sender_add(self->chan);
    o = pc_chan_py_new_handle(Py_TYPE(self), self->chan);
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
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->chan != NULL) {
        /* acq_rel: as in close(). */
        if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0)
            pc_chan_sender_drop(self->chan);
        pc_chan_unref(self->chan);
        self->chan = NULL;
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

#ifdef PC_TEST_HOOKS /* test builds only (build.py: PYCONC_TEST_HOOKS=1) */
/* _wait_room(ns) -> bool: wait, without the GIL, at most ns for room in a
 * full bounded channel (True: something changed).  For the C-level
 * wake-up tests; send() does not use it. */
static PyObject *pc_chan_py_wait_room(pc_chan_py_handle *self, PyObject *arg)
{
    long long ns = PyLong_AsLongLong(arg);
    int r;
    if (ns == -1 && PyErr_Occurred())
        return NULL;
    PC_PY_WITHOUT_GIL(r = pc_chan_send_wait(self->chan, -1, ns > 0 ? ns : 0));
    return PyBool_FromLong(r == PC_CHAN_READY);
}
#endif

/* --------------------------------------------------------------- Receiver */

static int pc_chan_py_rx_open(pc_chan_py_handle *self)
{
    /* relaxed: a use-after-close check. */
    if (PC_UNLIKELY(atomic_load_explicit(&self->closed, memory_order_relaxed))) {
        pc_py_raise(PC_HANDLE_CLOSED, pc_chan_py_msg_rx_closed);
        return 0;
    }
    return 1;
}

/*
 * The consumer lock around each pop (see the top of this file): with the
 * GIL, nothing (the GIL serialises the pops); without it, pc_chan.h's
 * consumer lock.
 */
#ifdef Py_GIL_DISABLED
#define PC_CHAN_PY_LOCK(c) pc_chan_rx_lock(c)
#define PC_CHAN_PY_UNLOCK(c) pc_chan_rx_unlock(c)
#else
#define PC_CHAN_PY_LOCK(c) ((void)(c))
#define PC_CHAN_PY_UNLOCK(c) ((void)(c))
#endif

/* This Receiver is closed: the last Receiver of the channel to close
 * closes the channel and drains it. */
static void pc_chan_py_rx_release(pc_chan_t *c)
{
    if (pc_chan_receiver_drop(c)) {
        PC_CHAN_PY_LOCK(c);
        pc_chan_drain(c);
        PC_CHAN_PY_UNLOCK(c);
    }
}

/* Pop one value: PC_OK (*out a new reference), PC_AGAIN (nothing yet) or
 * PC_CLOSED (every sender gone). */
PC_INLINE pc_status pc_chan_py_pop(pc_chan_py_handle *self, PyObject **out)
{
    void *v;
    int r;
    PC_CHAN_PY_LOCK(self->chan);
    r = pc_chan_trypop(self->chan, &v);
    PC_CHAN_PY_UNLOCK(self->chan);
    if (PC_LIKELY(r == PC_CHAN_OK)) {
        *out = (PyObject *)v;
        return PC_OK;
    }
    return r == PC_CHAN_EMPTY ? PC_AGAIN : PC_CLOSED;
}

/* Pop up to max_items into a new list: PC_OK (*out a
 * non-empty list), PC_AGAIN (nothing yet), PC_CLOSED or PC_NOMEM (values
 * popped are then released: only a list they cannot be put in loses them,
 * as for a failed PyList_New anywhere). */
static pc_status pc_chan_py_pop_many(pc_chan_py_handle *self, Py_ssize_t max_items,
                                     PyObject **out)
{
    PyObject *stack[PC_CHAN_PY_CHUNK];
    PyObject **buf = stack, *list;
    Py_ssize_t n = 0, cap = PC_CHAN_PY_CHUNK, i;
    int r = PC_CHAN_OK;

    while (n < max_items) {
        size_t want, got;
        if (n == cap) {
            /* More than a chunk: grow on the heap.  (The values are taken
             * only once there is room for them.) */
            Py_ssize_t ncap = cap * 2;
            PyObject **nbuf = (PyObject **)PyMem_Malloc((size_t)ncap * sizeof *nbuf);
            if (nbuf == NULL)
                break; /* return what we have */
            memcpy(nbuf, buf, (size_t)n * sizeof *nbuf);
            if (buf != stack)
                PyMem_Free(buf);
            buf = nbuf;
            cap = ncap;
        }
        want = (size_t)((max_items < cap ? max_items : cap) - n);
        PC_CHAN_PY_LOCK(self->chan);
        got = pc_chan_trypop_many(self->chan, (void **)(buf + n), want, &r);
        PC_CHAN_PY_UNLOCK(self->chan);
        n += (Py_ssize_t)got;
        if (got < want)
            break;
    }
    if (n == 0) {
        if (buf != stack)
            PyMem_Free(buf);
        return r == PC_CHAN_DISCONNECTED ? PC_CLOSED : PC_AGAIN;
    }
    list = PyList_New(n);
    if (list == NULL) {
        for (i = 0; i < n; i++)
            Py_DECREF(buf[i]);
    } else {
        for (i = 0; i < n; i++)
            PyList_SET_ITEM(list, i, buf[i]); /* steals */
    }
    if (buf != stack)
        PyMem_Free(buf);
    if (list == NULL)
        return PC_NOMEM;
    *out = list;
    return PC_OK;
}

/* A receive for pc_py_wait: max_items 0 for recv (one value), else
 * recv_many. */
typedef struct {
    pc_chan_py_handle *h;
    Py_ssize_t max_items;
    PyObject *out;
} pc_chan_py_recv_op;

static pc_status pc_chan_py_recv_try(void *arg)
{
    pc_chan_py_recv_op *op = (pc_chan_py_recv_op *)arg;
    /* relaxed: a close from another thread (which drains, if it was the
     * last Receiver, under the consumer lock). */
    if (atomic_load_explicit(&op->h->closed, memory_order_relaxed))
        return PC_HANDLE_CLOSED;
    if (op->max_items == 0)
        return pc_chan_py_pop(op->h, &op->out);
    return pc_chan_py_pop_many(op->h, op->max_items, &op->out);
}

static pc_status pc_chan_py_recv_park(void *arg, int64_t slice_ns)
{
    pc_chan_py_recv_op *op = (pc_chan_py_recv_op *)arg;
    (void)pc_chan_recv_wait(op->h->chan, slice_ns);
    return PC_AGAIN;
}

/* The blocking receive: wait in C (counted in rx_waiting).  NULL with the
 * error set, or the value (the list).  Leaving without a value, it passes
 * on a wake-up it may have consumed (pc_chan_rx_pass). */
PC_CHAN_PY_COLD PyObject *pc_chan_py_recv_wait(pc_chan_py_handle *self, Py_ssize_t max_items,
                                      int64_t timeout_ns, const char *what,
                                      pc_status *status)
{
    pc_chan_py_recv_op op = {self, max_items, NULL};
    pc_status st;
    /* relaxed: a hint (sync_channel(0)'s try_send, _state). */
    atomic_fetch_add_explicit(&self->chan->rx_waiting, 1, memory_order_relaxed);
    st = pc_py_wait(&op, pc_chan_py_recv_try, pc_chan_py_recv_park, timeout_ns, 1);
    atomic_fetch_sub_explicit(&self->chan->rx_waiting, 1, memory_order_relaxed);
    if (st != PC_OK && st != PC_CLOSED)
        pc_chan_rx_pass(self->chan);
    *status = st;
    if (PC_LIKELY(st == PC_OK))
        return op.out;
    return pc_chan_py_recv_failed(st, what, timeout_ns);
}

/* recv(timeout=None) */
static PyObject *pc_chan_py_recv(pc_chan_py_handle *self, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *v = NULL, *a[1];
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL)) {
        if (pc_chan_py_args("recv", args, nargs, kwnames, names, 0, 1, a) < 0 ||
            pc_py_timeout_ns(a[0], &ns) < 0)
            return NULL;
    }
    if (!pc_chan_py_rx_open(self))
        return NULL;
    st = pc_chan_py_pop(self, &v);
    if (PC_LIKELY(st == PC_OK))
        return v;
    if (st != PC_AGAIN)
        return pc_chan_py_recv_failed(st, "recv", 0);
    if (ns == 0)
        return pc_chan_py_timed_out("recv", 0, NULL);
    return pc_chan_py_recv_wait(self, 0, ns, "recv", &st);
}

/* try_recv() */
static PyObject *pc_chan_py_try_recv(pc_chan_py_handle *self, PyObject *unused)
{
    PyObject *v = NULL;
    pc_status st;
    (void)unused;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    st = pc_chan_py_pop(self, &v);
    if (PC_LIKELY(st == PC_OK))
        return v;
    return pc_chan_py_recv_failed(st == PC_AGAIN ? PC_EMPTY : st, "try_recv", 0);
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
    static const char *const names[] = {"max_items", "timeout"};
    PyObject *a[2], *list = NULL;
    Py_ssize_t max_items;
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if (PC_LIKELY(nargs == 1 && kwnames == NULL)) {
        a[0] = args[0];
    } else if (pc_chan_py_args("recv_many", args, nargs, kwnames, names, 1, 2, a) < 0 ||
               pc_py_timeout_ns(a[1], &ns) < 0) {
        return NULL;
    }
    max_items = pc_chan_py_max_items(a[0]);
    if (max_items < 0)
        return NULL;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    st = pc_chan_py_pop_many(self, max_items, &list);
    if (PC_LIKELY(st == PC_OK))
        return list;
    if (st != PC_AGAIN)
        return pc_chan_py_recv_failed(st, "recv_many", 0);
    if (ns == 0)
        return pc_chan_py_timed_out("recv_many", 0, NULL);
    return pc_chan_py_recv_wait(self, max_items, ns, "recv_many", &st);
}

/* for value in rx: recv() until disconnected (or this Receiver closed). */
static PyObject *pc_chan_py_rx_iternext(pc_chan_py_handle *self)
{
    PyObject *v = NULL;
    pc_status st;
    /* relaxed: iteration simply ends on a closed Receiver. */
    if (atomic_load_explicit(&self->closed, memory_order_relaxed))
        return NULL;
    st = pc_chan_py_pop(self, &v);
    if (PC_LIKELY(st == PC_OK))
        return v;
    if (st == PC_AGAIN) {
        v = pc_chan_py_recv_wait(self, 0, PC_PY_FOREVER, "recv", &st);
        if (v != NULL)
            return v;
    }
    if (st == PC_CLOSED || st == PC_HANDLE_CLOSED) {
        PyErr_Clear(); /* the end of the iteration */
        return NULL;
    }
    return NULL;
}

/* clone() -> Receiver: another Receiver of the same channel. */
static PyObject *pc_chan_py_rx_clone(pc_chan_py_handle *self, PyObject *unused)
{
    PyObject *o;
    (void)unused;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    pc_chan_receiver_add(self->chan);
    o = pc_chan_py_new_handle(Py_TYPE(self), self->chan);
    if (o == NULL) {
        pc_chan_py_rx_release(self->chan);
        pc_chan_unref(self->chan);
    }
    return o;
}

/* close(): later receives on this Receiver raise HandleClosed; when the
 * last Receiver closes, sends raise SendError and the queued values are
 * released. */
static PyObject *pc_chan_py_rx_close(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    /* acq_rel: exactly one close; after this handle's receives. */
    if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0)
        pc_chan_py_rx_release(self->chan);
    Py_RETURN_NONE;
}

static Py_ssize_t pc_chan_py_rx_len(pc_chan_py_handle *self)
{
    uint64_t n;
    if (self->chan->kind != PC_CHAN_UNBOUNDED)
        return (Py_ssize_t)pc_chan_len(self->chan);
    PC_CHAN_PY_LOCK(self->chan); /* the walk follows the consumer's end */
    n = pc_chan_len(self->chan);
    PC_CHAN_PY_UNLOCK(self->chan);
    return (Py_ssize_t)n;
}

/* The collector: the values queued are the Receiver's (see the top). */
typedef struct {
    visitproc visit;
    void *arg;
} pc_chan_py_visit_ctx;

static int pc_chan_py_visit_value(void *value, void *arg)
{
    pc_chan_py_visit_ctx *ctx = (pc_chan_py_visit_ctx *)arg;
    return ctx->visit((PyObject *)value, ctx->arg);
}

static int pc_chan_py_rx_traverse(pc_chan_py_handle *self, visitproc visit, void *arg)
{
    pc_chan_py_visit_ctx ctx = {visit, arg};
    Py_VISIT(Py_TYPE(self));
    if (self->chan == NULL)
        return 0;
    /* The queue holds one reference per value: only one Receiver may show
     * them, or the collector would count each twice.  So only the one open
     * Receiver of a channel that has one (relaxed: the collector runs with
     * the GIL, or the world stopped; the counts only change by handles'
     * close and clone).  With several open Receivers the values look
     * referenced from outside: a cycle through them waits until all but
     * one are closed. */
    if (atomic_load_explicit(&self->closed, memory_order_relaxed) ||
        atomic_load_explicit(&self->chan->receivers, memory_order_relaxed) != 1)
        return 0;
    return pc_chan_foreach(self->chan, pc_chan_py_visit_value, &ctx);
}

/* Break a cycle through the queue: close this Receiver, which (if it is
 * the last) releases the values queued. */
static int pc_chan_py_rx_clear(pc_chan_py_handle *self)
{
    if (self->chan != NULL) {
        /* acq_rel: as in close(). */
        if (atomic_exchange_explicit(&self->closed, 1, memory_order_acq_rel) == 0)
            pc_chan_py_rx_release(self->chan);
    }
    return 0;
}

static void pc_chan_py_rx_dealloc(pc_chan_py_handle *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->chan != NULL) {
        pc_chan_py_rx_clear(self);
        pc_chan_unref(self->chan);
        self->chan = NULL;
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

#ifdef PC_TEST_HOOKS /* test builds only (build.py: PYCONC_TEST_HOOKS=1) */
/* _wait_ready(ns) -> bool: wait, without the GIL, at most ns for something
 * to look at (True: look).  For the C-level wake-up tests (a lost wake-up
 * would not come back within the test's join); recv() does not use it. */
static PyObject *pc_chan_py_wait_ready(pc_chan_py_handle *self, PyObject *arg)
{
    long long ns = PyLong_AsLongLong(arg);
    int r;
    if (ns == -1 && PyErr_Occurred())
        return NULL;
    if (!pc_chan_py_rx_open(self))
        return NULL;
    /* relaxed: counted as a receiver waiting (a hint for sync_channel(0)'s
     * try_send, as for recv). */
    atomic_fetch_add_explicit(&self->chan->rx_waiting, 1, memory_order_relaxed);
    PC_PY_WITHOUT_GIL(r = pc_chan_recv_wait(self->chan, ns > 0 ? ns : 0));
    atomic_fetch_sub_explicit(&self->chan->rx_waiting, 1, memory_order_relaxed);
    return PyBool_FromLong(r == PC_CHAN_READY);
}
#endif

/* ----------------------------------------------------------- shared bits */

static PyObject *pc_chan_py_get_closed(pc_chan_py_handle *self, void *unused)
{
    (void)unused;
    /* relaxed: a snapshot. */
    return PyBool_FromLong(atomic_load_explicit(&self->closed, memory_order_relaxed));
}

/* _state() -> (kind, capacity, senders alive, every receiver closed,
 * threads in a blocking receive, receivers alive): for tests. */
static PyObject *pc_chan_py_state(pc_chan_py_handle *self, PyObject *unused)
{
    pc_chan_t *c = self->chan;
    (void)unused;
    /* relaxed, all: a snapshot. */
    return Py_BuildValue(
        "iKLiiL", c->kind,
        (unsigned long long)pc_chan_slots(c),
        (long long)atomic_load_explicit(&c->senders, memory_order_relaxed),
        (int)atomic_load_explicit(&c->rx_closed, memory_order_relaxed),
        (int)atomic_load_explicit(&c->rx_waiting, memory_order_relaxed),
        (long long)atomic_load_explicit(&c->receivers, memory_order_relaxed));
}

/* "channel()", "sync_channel(4)", "sync_channel(0)" */
static void pc_chan_py_kind_text(pc_chan_t *c, char *out, size_t size)
{
    if (c->kind == PC_CHAN_UNBOUNDED)
        snprintf(out, size, "channel()");
    else if (c->kind == PC_CHAN_RENDEZVOUS)
        snprintf(out, size, "sync_channel(0)");
    else
        snprintf(out, size, "sync_channel(%llu)", (unsigned long long)pc_chan_slots(c));
}

static PyObject *pc_chan_py_sender_repr(pc_chan_py_handle *self)
{
    char kind[48];
    pc_chan_t *c = self->chan;
    pc_chan_py_kind_text(c, kind, sizeof kind);
    /* relaxed, all: a snapshot. */
    return PyUnicode_FromFormat(
        "<%s pyconc.Sender of a %s, %lld sender(s) alive%s>",
        atomic_load_explicit(&self->closed, memory_order_relaxed) ? "closed" : "open",
        kind, (long long)atomic_load_explicit(&c->senders, memory_order_relaxed),
        atomic_load_explicit(&c->rx_closed, memory_order_relaxed) ? ", receiver closed" : "");
}

static PyObject *pc_chan_py_rx_repr(pc_chan_py_handle *self)
{
    char kind[48], queued[48];
    pc_chan_t *c = self->chan;
    pc_chan_py_kind_text(c, kind, sizeof kind);
    PC_CHAN_PY_LOCK(c);
    snprintf(queued, sizeof queued, "%llu queued", (unsigned long long)pc_chan_len(c));
    PC_CHAN_PY_UNLOCK(c);
    /* relaxed, all: a snapshot. */
    return PyUnicode_FromFormat(
        "<%s pyconc.Receiver of a %s, %s, %lld sender(s), %lld receiver(s) alive>",
        atomic_load_explicit(&self->closed, memory_order_relaxed) ? "closed" : "open",
        kind, queued, (long long)atomic_load_explicit(&c->senders, memory_order_relaxed),
        (long long)atomic_load_explicit(&c->receivers, memory_order_relaxed));
}

static PyObject *pc_chan_py_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *pc_chan_py_sender_exit(pc_chan_py_handle *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return pc_chan_py_sender_close(self, NULL);
}

static PyObject *pc_chan_py_rx_exit(pc_chan_py_handle *self, PyObject *const *args,
                                    Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return pc_chan_py_rx_close(self, NULL);
}

/* __copy__, __deepcopy__, __reduce__, __reduce_ex__: a clear refusal. */
static PyObject *pc_chan_py_sender_no_copy(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyErr_SetString(PyExc_TypeError,
                    "a Sender cannot be copied or pickled: a channel lives in this "
                    "process's memory (use Sender.clone() for another Sender of the "
                    "same channel, and share it between threads)");
    return NULL;
}

static PyObject *pc_chan_py_rx_no_copy(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyErr_SetString(PyExc_TypeError,
                    "a Receiver cannot be copied or pickled: a channel lives in "
                    "this process's memory (use Receiver.clone() for another "
                    "Receiver of the same channel, and share it between threads)");
    return NULL;
}

#define PC_CHAN_PY_NO_COPY(fn)                                                     \
    {"__copy__", (PyCFunction)(fn), METH_NOARGS, PC_PY_COPY_DOC},                  \
    {"__deepcopy__", (PyCFunction)(fn), METH_O, PC_PY_DEEPCOPY_DOC},               \
    {"__reduce__", (PyCFunction)(fn), METH_NOARGS, PC_PY_REDUCE_DOC},              \
    {"__reduce_ex__", (PyCFunction)(fn), METH_O, PC_PY_REDUCE_EX_DOC},             \
    {"__class_getitem__", (PyCFunction)Py_GenericAlias, METH_O | METH_CLASS,       \
     "__class_getitem__($cls, item, /)\n--\n\n"                                     \
     "See PEP 585 (Sender[int] in type hints)."}

static PyMethodDef pc_chan_py_sender_methods[] = {
    {"send", (PyCFunction)pc_chan_py_send, METH_O,
     "send($self, value, /)\n--\n\nsend(value) -> None\n\n"
     "Queue value for the Receiver.  On channel() it never waits.  On\n"
     "sync_channel(n) it waits while n values are queued; on sync_channel(0)\n"
     "until the Receiver has taken the value.  Waiting releases the GIL and\n"
     "lets Ctrl-C through (KeyboardInterrupt: the value was not sent).\n"
     "Raises SendError (the value in .value) if the Receiver is closed,\n"
     "HandleClosed if this Sender is closed."},
    {"try_send", (PyCFunction)pc_chan_py_try_send, METH_O,
     "try_send($self, value, /)\n--\n\ntry_send(value) -> None\n\n"
     "As send, but never waits: raises Full (the value in .value) when a\n"
     "bounded channel is full.  On sync_channel(0) it succeeds only if the\n"
     "Receiver is receiving right now (it then waits, briefly, for the\n"
     "hand-over)."},
    {"send_timeout", (PyCFunction)(void (*)(void))pc_chan_py_send_timeout,
     METH_FASTCALL | METH_KEYWORDS,
     "send_timeout($self, /, value, timeout)\n--\n\nsend_timeout(value, timeout) -> None\n\n"
     "As send, but wait at most timeout seconds (a non-negative number) for\n"
     "room or, on sync_channel(0), for the hand-over.  Raises Timeout, with\n"
     "the value in .value, when the time runs out (the value is then not\n"
     "sent); SendError if the Receiver is closed."},
    {"send_many", (PyCFunction)pc_chan_py_send_many, METH_O,
     "send_many($self, values, /)\n--\n\nsend_many(iterable) -> None\n\n"
     "Send every value of the iterable, in order, as send would, but in\n"
     "batches of 64: on channel() a batch costs one atomic exchange.  Waits\n"
     "when a bounded channel is full.  No value taken from the iterable is\n"
     "lost: if the iterable raises, the values it gave are sent, then its\n"
     "exception propagates; if the Receiver is closed, SendError's .value\n"
     "lists the values not sent (for a list, tuple or range, the rest of it\n"
     "too); an exception while waiting (Ctrl-C) carries the values taken and\n"
     "not sent in its .value."},
    {"clone", (PyCFunction)pc_chan_py_clone, METH_NOARGS,
     "clone($self, /)\n--\n\nclone() -> Sender\n\n"
     "Another Sender of the same channel; the channel stays connected until\n"
     "every Sender is closed or garbage-collected."},
    {"close", (PyCFunction)pc_chan_py_sender_close, METH_NOARGS,
     "close($self, /)\n--\n\nclose() -> None\n\n"
     "This Sender is done (idempotent).  When the last Sender closes, the\n"
     "Receiver gets what is queued, then Disconnected."},
    {"__enter__", (PyCFunction)pc_chan_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe Sender itself, for ``with tx:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_chan_py_sender_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nclose() this Sender."},
    {"_state", (PyCFunction)pc_chan_py_state, METH_NOARGS,
     "_state($self, /)\n--\n\n(kind, capacity, senders alive, receiver closed, a thread\n"
     "is receiving): for tests."},
#ifdef PC_TEST_HOOKS
    {"_wait_room", (PyCFunction)pc_chan_py_wait_room, METH_O,
     "_wait_room($self, ns, /)\n--\n\nWait, without the GIL, at most ns for room in a full\n"
     "bounded channel (True: something changed); for the wake-up tests."},
#endif
    PC_CHAN_PY_NO_COPY(pc_chan_py_sender_no_copy),
    {NULL, NULL, 0, NULL},
};

static PyMethodDef pc_chan_py_rx_methods[] = {
    {"recv", (PyCFunction)(void (*)(void))pc_chan_py_recv, METH_FASTCALL | METH_KEYWORDS,
     "recv($self, /, timeout=None)\n--\n\nrecv(timeout=None) -> value\n\n"
     "Take the oldest value, waiting for one if the channel is empty: with\n"
     "no limit when timeout is None, else at most timeout seconds, then raise\n"
     "Timeout.  Raises Disconnected once every Sender is gone and nothing is\n"
     "left, HandleClosed if this Receiver is closed.  Waiting releases the GIL\n"
     "and lets Ctrl-C through (KeyboardInterrupt: nothing was taken)."},
    {"try_recv", (PyCFunction)pc_chan_py_try_recv, METH_NOARGS,
     "try_recv($self, /)\n--\n\ntry_recv() -> value\n\n"
     "Take the oldest value without waiting; raises Empty if there is none\n"
     "(and senders remain), Disconnected if every Sender is gone."},
    {"recv_many", (PyCFunction)(void (*)(void))pc_chan_py_recv_many,
     METH_FASTCALL | METH_KEYWORDS,
     "recv_many($self, /, max_items, timeout=None)\n--\n\nrecv_many(max_items, timeout=None) -> list\n\n"
     "Wait as recv does for the first value, then return it together with\n"
     "whatever else is queued, up to max_items values, as a list."},
    {"clone", (PyCFunction)pc_chan_py_rx_clone, METH_NOARGS,
     "clone($self, /)\n--\n\nclone() -> Receiver\n\n"
     "Another Receiver of the same channel (crossbeam's Receiver::clone):\n"
     "the receivers share the values, each value going to one of them.  The\n"
     "channel's senders keep sending until every Receiver is closed or\n"
     "garbage-collected."},
    {"close", (PyCFunction)pc_chan_py_rx_close, METH_NOARGS,
     "close($self, /)\n--\n\nclose() -> None\n\n"
     "Close this Receiver (idempotent): later receives through it raise\n"
     "HandleClosed.  When the last Receiver of the channel closes, the values\n"
     "queued are released and later sends raise SendError."},
    {"__enter__", (PyCFunction)pc_chan_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe Receiver itself, for ``with rx:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_chan_py_rx_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nclose() this Receiver."},
#ifdef PC_TEST_HOOKS
    {"_wait_ready", (PyCFunction)pc_chan_py_wait_ready, METH_O,
     "_wait_ready($self, ns, /)\n--\n\nWait without the GIL at most ns for something to\n"
     "look at (True: look); for the wake-up tests."},
#endif
    {"_state", (PyCFunction)pc_chan_py_state, METH_NOARGS,
     "_state($self, /)\n--\n\n(kind, capacity, senders alive, receivers closed, threads\n"
     "in a blocking receive): for tests."},
    PC_CHAN_PY_NO_COPY(pc_chan_py_rx_no_copy),
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pc_chan_py_getset[] = {
    {"closed", (getter)pc_chan_py_get_closed, NULL,
     "True once close() was called on this handle.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef pc_chan_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_chan_py_handle, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
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

static PyType_Slot pc_chan_py_sender_slots[] = {
    {Py_tp_doc,
     "Sender of a channel (pyconc.channel(), pyconc.sync_channel()).\n\n"
     "Any number of threads may send through one Sender at once; clone()\n"
     "gives more.  Closing the last Sender, or letting it be garbage-\n"
     "collected, disconnects the channel: the Receiver gets what is queued,\n"
     "then Disconnected.  A context manager that closes it on exit.\n\n"
     "Thread safety without the GIL: the channel's state is C atomics\n"
     "(pc_chan.h); close() is one atomic exchange, so racing closes count\n"
     "once.  The Sender holds no Python reference."},
    {Py_tp_dealloc, (void *)pc_chan_py_sender_dealloc},
    {Py_tp_repr, (void *)pc_chan_py_sender_repr},
    {Py_tp_methods, pc_chan_py_sender_methods},
    {Py_tp_getset, pc_chan_py_getset},
    {Py_tp_members, pc_chan_py_members},
    {Py_tp_new, (void *)pc_chan_py_no_new},
    {0, NULL},
};

static PyType_Slot pc_chan_py_rx_slots[] = {
    {Py_tp_doc,
     "Receiver of a channel (pyconc.channel(), pyconc.sync_channel()).\n\n"
     "recv(timeout=None), try_recv(), recv_many(max_items, timeout=None);\n"
     "`for value in rx` receives until the channel is disconnected,\n"
     "try_iter() yields what is queued now, len(rx) counts the values\n"
     "queued, `await rx.recv_async()` and `async for` wait without blocking\n"
     "an asyncio event loop; close() releases the values queued.  A context\n"
     "manager that closes it on exit.\n\n"
     "Many consumers (MPMC, as crossbeam-channel): clone() gives another\n"
     "Receiver of the same channel, and any number of threads may receive\n"
     "through one Receiver at once.  Each value goes to exactly one\n"
     "receiver; each sender's values arrive in the order sent, in every\n"
     "receiver's view.  Senders get SendError once every Receiver is closed\n"
     "or collected; receivers get Disconnected once every Sender is gone and\n"
     "the channel is empty.  pyconc.select() waits on several at once.\n\n"
     "Thread safety without the GIL: the channel's C atomics, and a consumer\n"
     "lock held for each pop only; the collector walks the queued values with\n"
     "the world stopped."},
    {Py_tp_dealloc, (void *)pc_chan_py_rx_dealloc},
    {Py_tp_traverse, (void *)pc_chan_py_rx_traverse},
    {Py_tp_clear, (void *)pc_chan_py_rx_clear},
    {Py_tp_repr, (void *)pc_chan_py_rx_repr},
    {Py_tp_methods, pc_chan_py_rx_methods},
    {Py_tp_getset, pc_chan_py_getset},
    {Py_tp_members, pc_chan_py_members},
    {Py_tp_iter, (void *)pc_chan_py_self_iter},
    {Py_tp_iternext, (void *)pc_chan_py_rx_iternext},
    {Py_sq_length, (void *)pc_chan_py_rx_len},
    {Py_tp_new, (void *)pc_chan_py_no_new},
    {0, NULL},
};

static PyType_Spec pc_chan_py_sender_spec = {
    "pyconc.channel.Sender", sizeof(pc_chan_py_handle), 0, Py_TPFLAGS_DEFAULT,
    pc_chan_py_sender_slots};

static PyType_Spec pc_chan_py_rx_spec = {
    "pyconc.channel.Receiver", sizeof(pc_chan_py_handle), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_chan_py_rx_slots};

/* _chan_new(kind, capacity) -> (Sender, Receiver); pyconc/channel.py
 * checks the arguments of channel() and sync_channel() first. */
static PyObject *pc_chan_py_new_channel(PyObject *module, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    long kind;
    unsigned long long cap;
    PyObject *tx, *rx, *res;
    pc_chan_t *c;
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_chan_new(kind, capacity)");
        return NULL;
    }
    kind = PyLong_AsLong(args[0]);
    if (kind == -1 && PyErr_Occurred())
        return NULL;
    cap = PyLong_AsUnsignedLongLong(args[1]);
    if (cap == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (kind < PC_CHAN_UNBOUNDED || kind > PC_CHAN_RENDEZVOUS ||
        (kind == PC_CHAN_BOUNDED && cap < 1)) {
        PyErr_SetString(PyExc_ValueError, "bad channel kind or capacity");
        return NULL;
    }
    c = pc_chan_new((int)kind, (uint64_t)cap, pc_chan_py_drop);
    if (c == NULL)
        return PyErr_NoMemory();
    tx = pc_chan_py_new_handle(pc_chan_py_Sender, c);
    if (tx == NULL) {
        pc_chan_sender_drop(c);
        pc_chan_unref(c);
        pc_chan_rx_close(c);
        pc_chan_unref(c);
        return NULL;
    }
    rx = pc_chan_py_new_handle(pc_chan_py_Receiver, c);
    if (rx == NULL) {
        Py_DECREF(tx); /* drops the sender's reference */
        pc_chan_rx_close(c);
        pc_chan_unref(c);
        return NULL;
    }
    res = PyTuple_Pack(2, tx, rx);
    Py_DECREF(tx);
    Py_DECREF(rx);
    return res;
}

static PyMethodDef pc_chan_py_functions[] = {
    {"_chan_new", (PyCFunction)(void (*)(void))pc_chan_py_new_channel, METH_FASTCALL,
     "_chan_new(kind, capacity, /)\n--\n\n(Sender, Receiver) of a new channel; "
     "pyconc/channel.py checks the arguments."},
    {NULL, NULL, 0, NULL},
};

/* The family's init (pc_py_module.h): Sender, Receiver, _chan_new and the
 * kind constants. */
static int pc_chan_py_init(PyObject *m)
{
    if ((pc_chan_py_str_value = PyUnicode_InternFromString("value")) == NULL)
        return -1;
    if ((pc_chan_py_Sender = pc_py_add_type(m, &pc_chan_py_sender_spec)) == NULL ||
        (pc_chan_py_Receiver = pc_py_add_type(m, &pc_chan_py_rx_spec)) == NULL)
        return -1;
    if (PyModule_AddFunctions(m, pc_chan_py_functions) < 0 ||
        PyModule_AddIntConstant(m, "CHAN_UNBOUNDED", PC_CHAN_UNBOUNDED) < 0 ||
        PyModule_AddIntConstant(m, "CHAN_BOUNDED", PC_CHAN_BOUNDED) < 0 ||
        PyModule_AddIntConstant(m, "CHAN_RENDEZVOUS", PC_CHAN_RENDEZVOUS) < 0)
        return -1;
    /* Whether this build has the tests' hooks (_wait_ready, _wait_room,
     * the ipc handle's debug_*): tests/conftest.py skips the tests of the
     * "test_hooks" marker without them. */
#ifdef PC_TEST_HOOKS
    if (PyModule_AddIntConstant(m, "_TEST_HOOKS", 1) < 0)
        return -1;
#else
    if (PyModule_AddIntConstant(m, "_TEST_HOOKS", 0) < 0)
        return -1;
#endif
    return 0;
}

#endif /* PC_CHAN_PY_H */
