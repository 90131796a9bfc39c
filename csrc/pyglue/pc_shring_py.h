/*
 * pyglue/pc_shring_py.h - pyconc._core.IpcHandle: one process's handle on
 * a pyconc.ipc shared-memory segment, and on the ring (pc_shring.h) in it.
 *
 * pyconc.ipc's Sender, Receiver and its segment bookkeeping each hold one.
 * The handle keeps the segment's mmap exported (a Py_buffer), so the
 * mapping cannot be closed or unmapped while the handle lives, and it
 * keeps every address to itself: Python sees no pointer, no writable field
 * and no constructor argument that could make it touch memory outside the
 * mapping (tp_new checks the offsets, and the ring's header with
 * pc_shring_check).  All work is done in tp_new; there is no __init__.
 *
 * Sending and receiving are one C call each, with the GIL held on the fast
 * path; a call that has to wait does so through pc_py_wait (the one
 * interruptible wait: GIL released, one PC_WAIT_SLICE_NS slice at a time,
 * signal handlers run between slices).  Results are pc_status values,
 * raised through pc_py.h's table; "the receiver is gone" raises
 * pyconc.ipc.ReceiverGone (a SendError and a Disconnected) with the unsent
 * object.
 *
 * What protects the state without the GIL (free-threaded builds):
 *   - the ring: its own atomics in shared memory (pc_shring.h);
 *   - `closed`, `slot`, `pid`: atomics;
 *   - the receive buffer, its lengths and `pending` belong to the thread
 *     that holds `busy` (taken by compare-and-swap, given back with
 *     release); such a thread never runs Python code while it holds it
 *     (records are copied out into bytes objects before they are
 *     unpickled), so a __setstate__ that receives again cannot deadlock;
 *   - the mapping is released only in tp_dealloc.
 *
 * Length: one C type, IpcHandle, whose methods are the whole of pyconc.ipc's
 * channel (send, receive, their waits and batches, the users table); the
 * Python side (pyconc/ipc/) is bookkeeping only.
 */
#ifndef PC_SHRING_PY_H
#define PC_SHRING_PY_H

#include "pc_shring.h"

#define PC_SHRING_PY_BATCH 256
#define PC_SHRING_PY_BUF0 (1u << 16)
/* How long a try_recv waits for another thread's receive to finish. */
#define PC_SHRING_PY_BUSY_WAIT_NS 50000000
/* How long a receive that finds the buffer busy sleeps before retrying. */
#define PC_SHRING_PY_BUSY_NAP_NS 50000

typedef struct {
    PyObject_HEAD
    Py_buffer view;           /* the segment's mapping, exported */
    pc_ipc_user_t *users;     /* the users table, in view */
    uint32_t nusers;
    pc_shring_t *ring;        /* NULL: a segment without a ring */
    uint64_t max_payload;
    _Atomic uint32_t closed;  /* this handle was closed */
    _Atomic uint32_t pid;     /* receiver: the process receiving */
    _Atomic int32_t slot;     /* sender: its producer slot */
    _Atomic uint32_t busy;    /* receiver: a thread uses buf/lens/pending */
    char *buf;                /* receiver: records copied out of the ring */
    uint64_t bufsize;
    int64_t lens[PC_SHRING_PY_BATCH];
    PyObject *pending;        /* list of bytes: records taken out of the ring
                               * but not yet delivered (recv_many), or NULL */
} pc_shring_py;

static PyObject *pc_shring_py_dumps;    /* pickle.dumps */
static PyObject *pc_shring_py_loads;    /* pickle.loads */
static PyObject *pc_shring_py_protocol; /* pickle.HIGHEST_PROTOCOL */

static int pc_shring_py_pickle(void)
{
    PyObject *m;
    if (pc_shring_py_loads != NULL)
        return 0;
    m = PyImport_ImportModule("pickle");
    if (m == NULL)
        return -1;
    pc_shring_py_dumps = PyObject_GetAttrString(m, "dumps");
    pc_shring_py_loads = PyObject_GetAttrString(m, "loads");
    pc_shring_py_protocol = PyObject_GetAttrString(m, "HIGHEST_PROTOCOL");
    Py_DECREF(m);
    if (pc_shring_py_dumps == NULL || pc_shring_py_loads == NULL ||
        pc_shring_py_protocol == NULL) {
        Py_CLEAR(pc_shring_py_dumps);
        Py_CLEAR(pc_shring_py_loads);
        Py_CLEAR(pc_shring_py_protocol);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- errors */

/* Raise pyconc.ipc.ReceiverGone(value, message). */
static PyObject *pc_shring_py_gone(PyObject *value, const char *message)
{
    PyObject *m = PyImport_ImportModule("pyconc.ipc"), *cls, *exc;
    if (m == NULL)
        return NULL;
    cls = PyObject_GetAttrString(m, "ReceiverGone");
    Py_DECREF(m);
    if (cls == NULL)
        return NULL;
    exc = PyObject_CallFunction(cls, "Os", value, message);
    if (exc != NULL) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    Py_DECREF(cls);
    return NULL;
}

/* The exception of a failed send of `value` (len bytes). */
static PyObject *pc_shring_py_send_error(pc_shring_py *self, pc_status st, PyObject *value,
                                         uint64_t len)
{
    switch (st) {
    case PC_CLOSED:
        return pc_shring_py_gone(value, "the receiving side of the channel is gone");
    case PC_FULL:
        return pc_py_raise_value(PC_FULL, value, "the channel is full");
    case PC_TIMEOUT:
        return pc_py_raise(PC_TIMEOUT, "timed out waiting for room in the channel");
    case PC_HANDLE_CLOSED:
        return pc_py_raise(PC_HANDLE_CLOSED, "this Sender is closed");
    case PC_INVALID:
        PyErr_Format(PyExc_ValueError,
                     "record of %llu bytes is larger than the channel's ring allows "
                     "(%llu bytes); make the channel with a larger capacity_bytes",
                     (unsigned long long)len, (unsigned long long)self->max_payload);
        return NULL;
    default:
        return pc_py_raise(st, NULL);
    }
}

static PyObject *pc_shring_py_recv_error(pc_status st)
{
    switch (st) {
    case PC_CLOSED:
        return pc_py_raise(PC_CLOSED, "every Sender of the channel is gone");
    case PC_EMPTY:
        return pc_py_raise(PC_EMPTY, "the channel is empty");
    case PC_TIMEOUT:
        return pc_py_raise(PC_TIMEOUT, "timed out waiting for a record");
    case PC_HANDLE_CLOSED:
        return pc_py_raise(PC_HANDLE_CLOSED, "this Receiver is closed");
    default:
        return pc_py_raise(st, NULL);
    }
}

static int pc_shring_py_need_ring(pc_shring_py *self)
{
    if (self->ring == NULL) {
        PyErr_SetString(PyExc_TypeError, "this segment holds no channel");
        return -1;
    }
    return 0;
}

/* A send needs a producer slot (register()), a receive a receiving pid
 * (set_receiver()): never send as slot -1, nor receive as pid 0, which
 * is the receive lock's "free". */
static int pc_shring_py_need_slot(pc_shring_py *self)
{
    /* relaxed: set by this process before the handle is used. */
    if (atomic_load_explicit(&self->slot, memory_order_relaxed) < 0) {
        PyErr_SetString(PyExc_TypeError, "this handle is not a Sender's");
        return -1;
    }
    return 0;
}

static int pc_shring_py_need_pid(pc_shring_py *self)
{
    /* relaxed: as above. */
    if (atomic_load_explicit(&self->pid, memory_order_relaxed) == 0) {
        PyErr_SetString(PyExc_TypeError, "this handle is not a Receiver's");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- send */

typedef struct {
    pc_shring_py *self;
    const char *data;
    uint64_t len;
} pc_shring_py_send_ctx;

static pc_status pc_shring_py_send_try(void *p)
{
    pc_shring_py_send_ctx *c = p;
    pc_status st;
    /* relaxed: a flag; close() racing with a send may let it land. */
    if (atomic_load_explicit(&c->self->closed, memory_order_relaxed))
        return PC_HANDLE_CLOSED;
    /* relaxed: only this process's fork handler changes the slot. */
    st = pc_shring_try_send(c->self->ring,
                            atomic_load_explicit(&c->self->slot, memory_order_relaxed),
                            c->data, c->len);
    return st == PC_FULL ? PC_AGAIN : st;
}

static pc_status pc_shring_py_send_park(void *p, int64_t slice_ns)
{
    pc_shring_py_send_ctx *c = p;
    /* A slice without room: is the receiver's process still alive? */
    if (pc_shring_wait_send(c->self->ring, c->len, slice_ns) == PC_PARK_TIMEDOUT &&
        pc_shring_receiver_gone(c->self->ring, true))
        return PC_CLOSED;
    return PC_AGAIN;
}

/* Send len bytes: 0, or -1 with the exception (carrying `value`) set.
 * timeout_ns 0: a try (Full). */
static int pc_shring_py_send_data(pc_shring_py *self, const char *data, uint64_t len,
                                  int64_t timeout_ns, PyObject *value)
{
    pc_shring_py_send_ctx c = {self, data, len};
    pc_status st = pc_shring_py_send_try(&c);
    if (st == PC_OK)
        return 0;
    if (st == PC_AGAIN) {
        if (timeout_ns == 0)
            st = pc_shring_receiver_gone(self->ring, true) ? PC_CLOSED : PC_FULL;
        else
            st = pc_py_wait(&c, pc_shring_py_send_try, pc_shring_py_send_park,
                            timeout_ns, 1);
        if (st == PC_OK)
            return 0;
        if (st == PC_INTERRUPTED)
            return -1;
    }
    pc_shring_py_send_error(self, st, value, len);
    return -1;
}

static int pc_shring_py_args(const char *name, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames, Py_ssize_t npos, PyObject **out,
                             const char *const *names)
{
    return pc_py_parse_args(name, args, nargs, kwnames, names, npos, 0, out);
}

/* send(obj, timeout=None) / try_send(obj) and the _bytes variants. */
static PyObject *pc_shring_py_send_impl(pc_shring_py *self, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames,
                                        const char *name, int pickled, int try_)
{
    static const char *const names[] = {NULL, "timeout"};
    PyObject *a[2], *data = NULL;
    int64_t timeout_ns = 0;
    int rc;
    if (pc_shring_py_args(name, args, nargs, kwnames, try_ ? 1 : 2, a, names) < 0)
        return NULL;
    if (a[0] == NULL) {
        PyErr_Format(PyExc_TypeError, "%s() missing its first argument", name);
        return NULL;
    }
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_need_slot(self) < 0)
        return NULL;
    if (!try_ && pc_py_timeout_ns(a[1], &timeout_ns) < 0)
        return NULL;
    if (pickled) {
        PyObject *dargs[2] = {a[0], pc_shring_py_protocol};
        data = PyObject_Vectorcall(pc_shring_py_dumps, dargs, 2, NULL);
        if (data == NULL)
            return NULL;
        rc = pc_shring_py_send_data(self, PyBytes_AS_STRING(data),
                                    (uint64_t)PyBytes_GET_SIZE(data), timeout_ns, a[0]);
        Py_DECREF(data);
    } else if (PyBytes_CheckExact(a[0])) {
        rc = pc_shring_py_send_data(self, PyBytes_AS_STRING(a[0]),
                                    (uint64_t)PyBytes_GET_SIZE(a[0]), timeout_ns, a[0]);
    } else {
        Py_buffer b;
        if (PyObject_GetBuffer(a[0], &b, PyBUF_C_CONTIGUOUS) < 0) {
            PyErr_Format(PyExc_TypeError,
                         "send_bytes() takes a bytes-like object, not %.100s",
                         Py_TYPE(a[0])->tp_name);
            return NULL;
        }
        /* The export keeps the bytes in place (a bytearray cannot be
         * resized meanwhile) while the wait runs without the GIL. */
        rc = pc_shring_py_send_data(self, b.buf, (uint64_t)b.len, timeout_ns, a[0]);
        PyBuffer_Release(&b);
    }
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The four variants of a call as METH_FASTCALL | METH_KEYWORDS methods:
 * name, implementation, pickled/decoded, try_. */
#define PC_SHRING_PY_VARIANT(name, impl, codec, try_)                                 \
    static PyObject *pc_shring_py_##name(pc_shring_py *self, PyObject *const *args,   \
                                         Py_ssize_t nargs, PyObject *kwnames)          \
    {                                                                                  \
        return pc_shring_py_##impl##_impl(self, args, nargs, kwnames, #name, codec, try_); \
    }

PC_SHRING_PY_VARIANT(send, send, 1, 0)
PC_SHRING_PY_VARIANT(try_send, send, 1, 1)
PC_SHRING_PY_VARIANT(send_bytes, send, 0, 0)
PC_SHRING_PY_VARIANT(try_send_bytes, send, 0, 1)

/* ------------------------------------------------------------- receive */

static int pc_shring_py_take(pc_shring_py *self)
{
    uint32_t expected = 0;
    /* acquire: the previous holder's writes to buf/pending are visible. */
    return atomic_compare_exchange_strong_explicit(&self->busy, &expected, 1,
                                                   memory_order_acquire,
                                                   memory_order_relaxed);
}

static void pc_shring_py_give(pc_shring_py *self)
{
    /* release: our use of buf/pending happens before the next holder's. */
    atomic_store_explicit(&self->busy, 0, memory_order_release);
}

/* Take busy while holding the GIL: another holder never runs Python code
 * or waits while it holds it, so this is brief. */
static void pc_shring_py_take_spin(pc_shring_py *self)
{
    while (!pc_shring_py_take(self))
        pc_thread_yield();
}

enum { PC_SHRING_PY_WAIT = 0, PC_SHRING_PY_TRY = 1 };

typedef struct {
    pc_shring_py *self;
    int64_t maxn;
    int64_t count;
    int mode;
    pc_status last; /* why the last try failed: PC_EMPTY or PC_BUSY */
} pc_shring_py_recv_ctx;

/* Every Sender gone and nothing left: the channel is disconnected. */
static int pc_shring_py_drained(pc_shring_t *r, bool alive)
{
    return pc_shring_senders(r, alive) == 0 && pc_shring_is_empty(r);
}

/* With the GIL.  PC_OK: c->count records in buf, and busy held. */
static pc_status pc_shring_py_recv_try(void *p)
{
    pc_shring_py_recv_ctx *c = p;
    pc_shring_py *self = c->self;
    pc_status st;
    /* relaxed: a flag, re-read on every try. */
    if (atomic_load_explicit(&self->closed, memory_order_relaxed))
        return PC_HANDLE_CLOSED;
    if (!pc_shring_py_take(self)) {
        c->last = PC_BUSY;
        return PC_AGAIN;
    }
    for (;;) {
        st = pc_shring_try_recv(self->ring,
                                /* relaxed: changed only by this process's
                                 * own claim of the receive side. */
                                atomic_load_explicit(&self->pid, memory_order_relaxed),
                                self->buf, self->bufsize, self->lens, c->maxn, &c->count);
        if (st != PC_SHRING_TOO_SMALL)
            break;
        {
            uint64_t size = self->bufsize;
            char *nbuf;
            while (size < (uint64_t)self->lens[0])
                size *= 2;
            nbuf = PyMem_RawMalloc(size);
            if (nbuf == NULL) {
                pc_shring_py_give(self);
                return PC_NOMEM;
            }
            PyMem_RawFree(self->buf);
            self->buf = nbuf;
            self->bufsize = size;
        }
    }
    if (st == PC_OK)
        return PC_OK;
    pc_shring_py_give(self);
    if (st == PC_EMPTY) {
        if (pc_shring_py_drained(self->ring, false))
            return PC_CLOSED;
        if (c->mode == PC_SHRING_PY_TRY)
            return PC_EMPTY;
    }
    c->last = st;
    return PC_AGAIN;
}

/* Without the GIL. */
static pc_status pc_shring_py_recv_park(void *p, int64_t slice_ns)
{
    pc_shring_py_recv_ctx *c = p;
    if (c->last == PC_EMPTY) {
        /* Nothing for a slice: look for Senders that died. */
        if (pc_shring_wait_recv(c->self->ring, slice_ns) == PC_PARK_TIMEDOUT &&
            pc_shring_py_drained(c->self->ring, true))
            return PC_CLOSED;
    } else {
        /* Another thread (or process) is receiving: it is done soon. */
        _Atomic uint32_t nap = 0;
        pc_park_wait(&nap, 0,
                     slice_ns < PC_SHRING_PY_BUSY_NAP_NS ? slice_ns : PC_SHRING_PY_BUSY_NAP_NS,
                     false);
    }
    return PC_AGAIN;
}

/* Wait for records: PC_OK with c->count of them in buf and busy held, or
 * another status (PC_INTERRUPTED: the error is set). */
static pc_status pc_shring_py_recv_wait(pc_shring_py *self, pc_shring_py_recv_ctx *c,
                                        int64_t timeout_ns)
{
    pc_status st;
    c->self = self;
    c->count = 0;
    c->last = PC_EMPTY;
    if (timeout_ns == 0 && c->mode == PC_SHRING_PY_TRY) {
        /* try_: wait a little for another thread's receive, not for
         * records. */
        st = pc_py_wait(c, pc_shring_py_recv_try, pc_shring_py_recv_park,
                        PC_SHRING_PY_BUSY_WAIT_NS, 1);
        return st == PC_TIMEOUT ? PC_EMPTY : st;
    }
    return pc_py_wait(c, pc_shring_py_recv_try, pc_shring_py_recv_park, timeout_ns, 1);
}

/* Attach the undecodable record's bytes to the exception being raised
 * (as .data), so that it is handed back, not lost. */
static void pc_shring_py_attach_data(PyObject *data)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && PyObject_SetAttrString(value, "data", data) < 0)
        PyErr_Clear();
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    PyErr_Restore(type, value, tb);
}

static PyObject *pc_shring_py_decode(PyObject *data)
{
    PyObject *obj = PyObject_CallOneArg(pc_shring_py_loads, data);
    if (obj == NULL)
        pc_shring_py_attach_data(data);
    return obj;
}

/* The first pending record (a new reference), or NULL (none, or busy). */
static PyObject *pc_shring_py_pop_pending(pc_shring_py *self)
{
    PyObject *item = NULL;
    if (self->pending == NULL || !pc_shring_py_take(self))
        return NULL;
    if (self->pending != NULL && PyList_GET_SIZE(self->pending) > 0) {
        item = Py_NewRef(PyList_GET_ITEM(self->pending, 0));
        if (PyList_SetSlice(self->pending, 0, 1, NULL) < 0) {
            PyErr_Clear(); /* (cannot fail for a list slice deletion) */
        }
        if (PyList_GET_SIZE(self->pending) == 0)
            Py_CLEAR(self->pending);
    }
    pc_shring_py_give(self);
    return item;
}

/* Put records back in front of the pending ones (busy taken here). */
static void pc_shring_py_push_pending(pc_shring_py *self, PyObject *items)
{
    pc_shring_py_take_spin(self);
    if (self->pending == NULL) {
        self->pending = items;
        Py_INCREF(items);
    } else {
        PyList_SetSlice(self->pending, 0, 0, items);
    }
    pc_shring_py_give(self);
}

/* recv(timeout=None) / try_recv() / recv_bytes / try_recv_bytes. */
static PyObject *pc_shring_py_recv_impl(pc_shring_py *self, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames,
                                        const char *name, int decode, int try_)
{
    static const char *const names[] = {"timeout"};
    PyObject *a[1], *data;
    pc_shring_py_recv_ctx c;
    int64_t timeout_ns = 0;
    pc_status st;
    if (pc_shring_py_args(name, args, nargs, kwnames, try_ ? 0 : 1, a, names) < 0)
        return NULL;
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_need_pid(self) < 0)
        return NULL;
    if (!try_ && pc_py_timeout_ns(a[0], &timeout_ns) < 0)
        return NULL;
    if (self->pending != NULL && (data = pc_shring_py_pop_pending(self)) != NULL)
        goto got;
    c.maxn = 1;
    c.mode = try_ ? PC_SHRING_PY_TRY : PC_SHRING_PY_WAIT;
    st = pc_shring_py_recv_wait(self, &c, timeout_ns);
    if (st != PC_OK)
        return st == PC_INTERRUPTED ? NULL : pc_shring_py_recv_error(st);
    data = PyBytes_FromStringAndSize(self->buf, (Py_ssize_t)self->lens[0]);
    pc_shring_py_give(self);
    if (data == NULL)
        return NULL;
got:
    if (decode) {
        PyObject *obj = pc_shring_py_decode(data);
        Py_DECREF(data);
        return obj;
    }
    return data;
}

PC_SHRING_PY_VARIANT(recv, recv, 1, 0)
PC_SHRING_PY_VARIANT(try_recv, recv, 1, 1)
PC_SHRING_PY_VARIANT(recv_bytes, recv, 0, 0)
PC_SHRING_PY_VARIANT(try_recv_bytes, recv, 0, 1)

/*
 * Decode `items` (bytes) into the empty list `out`.  On a failure at i,
 * nothing is lost: if i > 0, items i.. go back to `pending` and out (the
 * i objects before) is returned, so the next call raises for item i; if
 * i == 0, item 0's bytes go with the exception (.data) and items 1.. back
 * to `pending`.  An exception that is not an Exception (KeyboardInterrupt
 * from a signal handler, SystemExit) is raised at once, with every item
 * back in `pending`.  Returns 0, or -1 with the exception set.
 */
static int pc_shring_py_decode_into(pc_shring_py *self, PyObject *out, PyObject *items)
{
    Py_ssize_t i, n = PyList_GET_SIZE(items);
    for (i = 0; i < n; i++) {
        PyObject *obj = PyObject_CallOneArg(pc_shring_py_loads, PyList_GET_ITEM(items, i));
        int rc;
        if (obj == NULL) {
            Py_ssize_t from;
            PyObject *rest;
            int raise = 1;
            if (!PyErr_ExceptionMatches(PyExc_Exception)) {
                from = 0;
            } else if (i > 0) {
                PyErr_Clear();
                from = i;
                raise = 0;
            } else {
                pc_shring_py_attach_data(PyList_GET_ITEM(items, 0));
                from = 1;
            }
            rest = PyList_GetSlice(items, from, n);
            if (rest != NULL) {
                if (PyList_GET_SIZE(rest) > 0)
                    pc_shring_py_push_pending(self, rest);
                Py_DECREF(rest);
            }
            if (raise)
                return -1;
            return 0;
        }
        rc = PyList_Append(out, obj);
        Py_DECREF(obj);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The c->count records in buf as a list of bytes; gives busy back. */
static PyObject *pc_shring_py_take_records(pc_shring_py *self, int64_t count)
{
    PyObject *items = PyList_New((Py_ssize_t)count);
    uint64_t off = 0;
    if (items != NULL) {
        for (int64_t i = 0; i < count; i++) {
            PyObject *b = PyBytes_FromStringAndSize(self->buf + off,
                                                    (Py_ssize_t)self->lens[i]);
            if (b == NULL) {
                Py_CLEAR(items);
                break;
            }
            off += (uint64_t)self->lens[i];
            PyList_SET_ITEM(items, (Py_ssize_t)i, b);
        }
    }
    pc_shring_py_give(self);
    return items;
}

/* recv_many(max_items, timeout, decode) */
static PyObject *pc_shring_py_recv_many(pc_shring_py *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    Py_ssize_t max_items;
    int64_t timeout_ns;
    int decode, first = 1;
    PyObject *out, *items = NULL;
    pc_shring_py_recv_ctx c;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "recv_many(max_items, timeout, decode)");
        return NULL;
    }
    if (PyBool_Check(args[0]) || !PyLong_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "max_items must be an int, not %.100s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(args[0], &overflow);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        max_items = overflow > 0 || v > PY_SSIZE_T_MAX ? PY_SSIZE_T_MAX
                    : overflow < 0 ? 0 : (Py_ssize_t)v;
    }
    if (max_items < 1) {
        PyErr_SetString(PyExc_ValueError, "max_items must be at least 1");
        return NULL;
    }
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_need_pid(self) < 0 ||
        pc_py_timeout_ns(args[1], &timeout_ns) < 0 || (decode = PyObject_IsTrue(args[2])) < 0)
        return NULL;
    out = PyList_New(0);
    if (out == NULL)
        return NULL;
    /* Records handed back by an earlier call come first (and alone). */
    if (self->pending != NULL && pc_shring_py_take(self)) {
        if (self->pending != NULL) {
            Py_ssize_t n = PyList_GET_SIZE(self->pending);
            if (n > max_items)
                n = max_items;
            items = PyList_GetSlice(self->pending, 0, n);
            if (items != NULL)
                PyList_SetSlice(self->pending, 0, n, NULL);
            if (PyList_GET_SIZE(self->pending) == 0)
                Py_CLEAR(self->pending);
        }
        pc_shring_py_give(self);
        if (items != NULL)
            goto decode;
    }
    /* All the records first, as bytes; then, if asked, unpickled. */
    items = PyList_New(0);
    if (items == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    c.mode = PC_SHRING_PY_WAIT;
    while (PyList_GET_SIZE(items) < max_items) {
        Py_ssize_t want = max_items - PyList_GET_SIZE(items);
        PyObject *batch;
        pc_status st;
        int rc;
        c.maxn = want < PC_SHRING_PY_BATCH ? want : PC_SHRING_PY_BATCH;
        if (first) {
            st = pc_shring_py_recv_wait(self, &c, timeout_ns);
            if (st != PC_OK) {
                Py_DECREF(items);
                Py_DECREF(out);
                return st == PC_INTERRUPTED ? NULL : pc_shring_py_recv_error(st);
            }
            first = 0;
        } else {
            /* More, if they are there already. */
            c.self = self;
            c.mode = PC_SHRING_PY_TRY;
            if (pc_shring_py_recv_try(&c) != PC_OK)
                break;
        }
        batch = pc_shring_py_take_records(self, c.count);
        if (batch == NULL) {
            Py_DECREF(items);
            Py_DECREF(out);
            return NULL;
        }
        rc = PyList_SetSlice(items, PyList_GET_SIZE(items), PyList_GET_SIZE(items), batch);
        Py_DECREF(batch);
        if (rc < 0) {
            Py_DECREF(items);
            Py_DECREF(out);
            return NULL;
        }
    }
decode:
    if (!decode) {
        Py_DECREF(out);
        return items;
    }
    if (pc_shring_py_decode_into(self, out, items) < 0) {
        Py_DECREF(items);
        Py_DECREF(out);
        return NULL;
    }
    Py_DECREF(items);
    return out;
}

/* ----------------------------------------------------- the rest, cold */

static int pc_shring_py_u32(PyObject *o, const char *what, uint32_t *out)
{
    unsigned long v;
    if (PyBool_Check(o) || !PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsUnsignedLong(o);
    if (v == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    if (v > UINT32_MAX) {
        PyErr_Format(PyExc_OverflowError, "%s does not fit in 32 bits", what);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int pc_shring_py_int(PyObject *o, const char *what, long lo, long hi, long *out)
{
    long v;
    if (PyBool_Check(o) || !PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < lo || v > hi) {
        PyErr_Format(PyExc_ValueError, "%s must be in %ld..%ld", what, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* users_add(pid, delta) -> bool */
static PyObject *pc_shring_py_users_add(pc_shring_py *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    uint32_t pid;
    long delta;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "users_add(pid, delta)");
        return NULL;
    }
    if (pc_shring_py_u32(args[0], "pid", &pid) < 0 ||
        pc_shring_py_int(args[1], "delta", -1000000, 1000000, &delta) < 0)
        return NULL;
    return PyBool_FromLong(pc_ipc_users_add(self->users, self->nusers, pid, (int32_t)delta));
}

static PyObject *pc_shring_py_users_live(pc_shring_py *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(pc_ipc_users_live(self->users, self->nusers));
}

/* register(pid) -> slot (also this handle's), or -1 */
static PyObject *pc_shring_py_register(pc_shring_py *self, PyObject *arg)
{
    uint32_t pid;
    int slot;
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_u32(arg, "pid", &pid) < 0)
        return NULL;
    slot = pc_shring_register(self->ring, pid);
    if (slot >= 0)
        /* relaxed: read by this process's sends only. */
        atomic_store_explicit(&self->slot, slot, memory_order_relaxed);
    return PyLong_FromLong(slot);
}

/* handles_add(slot, pid, delta) -> bool */
static PyObject *pc_shring_py_handles_add(pc_shring_py *self, PyObject *const *args,
                                          Py_ssize_t nargs)
{
    long slot, delta;
    uint32_t pid;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "handles_add(slot, pid, delta)");
        return NULL;
    }
    if (pc_shring_py_need_ring(self) < 0 ||
        pc_shring_py_int(args[0], "slot", 0, PC_SHRING_SLOTS - 1, &slot) < 0 ||
        pc_shring_py_u32(args[1], "pid", &pid) < 0 ||
        pc_shring_py_int(args[2], "delta", -1, 1, &delta) < 0)
        return NULL;
    return PyBool_FromLong(pc_shring_handles_add(self->ring, (int)slot, pid, (int)delta));
}

static PyObject *pc_shring_py_senders(pc_shring_py *self, PyObject *arg)
{
    int alive = PyObject_IsTrue(arg);
    if (alive < 0 || pc_shring_py_need_ring(self) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(pc_shring_senders(self->ring, alive));
}

static PyObject *pc_shring_py_receiver(pc_shring_py *self, PyObject *unused)
{
    (void)unused;
    if (pc_shring_py_need_ring(self) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(pc_shring_receiver(self->ring));
}

/* set_receiver(pid): take the receive side for process pid (this handle
 * receives as pid from now on). */
static PyObject *pc_shring_py_set_receiver(pc_shring_py *self, PyObject *arg)
{
    uint32_t pid;
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_u32(arg, "pid", &pid) < 0)
        return NULL;
    if (pid == 0 || pid > PC_IPC_PID_MASK) {
        PyErr_SetString(PyExc_ValueError, "pid out of range");
        return NULL;
    }
    /* relaxed: read by this process's receives. */
    atomic_store_explicit(&self->pid, pid, memory_order_relaxed);
    pc_shring_set_receiver(self->ring, pid);
    Py_RETURN_NONE;
}

static PyObject *pc_shring_py_close_receiver(pc_shring_py *self, PyObject *unused)
{
    (void)unused;
    if (pc_shring_py_need_ring(self) < 0)
        return NULL;
    pc_shring_close_receiver(self->ring);
    Py_RETURN_NONE;
}

static PyObject *pc_shring_py_receiver_gone(pc_shring_py *self, PyObject *arg)
{
    int alive = PyObject_IsTrue(arg);
    if (alive < 0 || pc_shring_py_need_ring(self) < 0)
        return NULL;
    return PyBool_FromLong(pc_shring_receiver_gone(self->ring, alive));
}

static PyObject *pc_shring_py_len(pc_shring_py *self, PyObject *unused)
{
    Py_ssize_t pending = 0;
    (void)unused;
    if (pc_shring_py_need_ring(self) < 0)
        return NULL;
    if (self->pending != NULL && pc_shring_py_take(self)) {
        pending = self->pending ? PyList_GET_SIZE(self->pending) : 0;
        pc_shring_py_give(self);
    }
    return PyLong_FromUnsignedLongLong(pc_shring_len(self->ring) + (uint64_t)pending);
}

/* stats() -> (skipped records, skipped bytes, head, tail) */
static PyObject *pc_shring_py_stats(pc_shring_py *self, PyObject *unused)
{
    uint64_t s[4];
    (void)unused;
    if (pc_shring_py_need_ring(self) < 0)
        return NULL;
    pc_shring_stats(self->ring, s);
    return Py_BuildValue("(KKKK)", (unsigned long long)s[0], (unsigned long long)s[1],
                         (unsigned long long)s[2], (unsigned long long)s[3]);
}

static PyObject *pc_shring_py_max_payload(pc_shring_py *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(self->max_payload);
}

/* close(): this handle's sends and receives raise HandleClosed from now
 * on (a thread blocked in one notices within a slice).  Returns whether
 * it was open. */
static PyObject *pc_shring_py_close(pc_shring_py *self, PyObject *unused)
{
    (void)unused;
    /* relaxed: a flag; the mapping stays until tp_dealloc. */
    return PyBool_FromLong(atomic_exchange_explicit(&self->closed, 1,
                                                    memory_order_relaxed) == 0);
}

static PyObject *pc_shring_py_closed(pc_shring_py *self, void *unused)
{
    (void)unused;
    /* relaxed: a flag. */
    return PyBool_FromLong(atomic_load_explicit(&self->closed, memory_order_relaxed));
}

#ifdef PC_TEST_HOOKS /* test builds only (build.py: PYCONC_TEST_HOOKS=1) */
/* For tests: debug_abandon(len) -> pc_status, as this handle's slot. */
static PyObject *pc_shring_py_debug_abandon(pc_shring_py *self, PyObject *arg)
{
    long len;
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_need_slot(self) < 0 ||
        pc_shring_py_int(arg, "len", 0, LONG_MAX, &len) < 0)
        return NULL;
    /* relaxed: as in send. */
    return PyLong_FromLong(pc_shring_debug_abandon(
        self->ring, atomic_load_explicit(&self->slot, memory_order_relaxed), (uint64_t)len));
}

/* For tests: debug_die_in_recv(dead_pid, records, first). */
static PyObject *pc_shring_py_debug_die_in_recv(pc_shring_py *self, PyObject *const *args,
                                                Py_ssize_t nargs)
{
    uint32_t pid;
    long records;
    int first;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "debug_die_in_recv(dead_pid, records, first)");
        return NULL;
    }
    if (pc_shring_py_need_ring(self) < 0 || pc_shring_py_u32(args[0], "pid", &pid) < 0 ||
        pc_shring_py_int(args[1], "records", 0, 255, &records) < 0 ||
        (first = PyObject_IsTrue(args[2])) < 0)
        return NULL;
    pc_shring_debug_die_in_recv(self->ring, pid, records, first);
    Py_RETURN_NONE;
}
#endif

/* wait_recv(timeout) -> woken: one park, no retry (pyconc/_async.py's ipc
 * watcher; the tests too). */
static PyObject *pc_shring_py_wait_recv(pc_shring_py *self, PyObject *arg)
{
    int64_t ns;
    int r;
    if (pc_shring_py_need_ring(self) < 0 || pc_py_timeout_ns(arg, &ns) < 0)
        return NULL;
    PC_PY_WITHOUT_GIL(r = pc_shring_wait_recv(self->ring, ns));
    return PyBool_FromLong(r != PC_PARK_TIMEDOUT);
}

/* ------------------------------------------------------------ the type */

/* IpcHandle(mapping, users_offset, nusers, ring_offset, new_cells=0,
 * rx_pid=0): new_cells > 0 lays out a new ring of that many cells first
 * (received by rx_pid). */
static PyObject *pc_shring_py_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *mapping;
    Py_ssize_t users_off, nusers, ring_off;
    unsigned long long new_cells = 0;
    unsigned int rx_pid = 0;
    pc_shring_py *self;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "IpcHandle() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "Onnn|KI:IpcHandle", &mapping, &users_off, &nusers, &ring_off,
                          &new_cells, &rx_pid))
        return NULL;
    if (pc_shring_py_pickle() < 0)
        return NULL;
    self = (pc_shring_py *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    if (PyObject_GetBuffer(mapping, &self->view, PyBUF_WRITABLE) < 0) {
        self->view.obj = NULL;
        Py_DECREF(self);
        return NULL;
    }
    if (users_off < 0 || nusers < 1 || nusers > UINT32_MAX || users_off % 8 != 0 ||
        (uintptr_t)self->view.buf % 8 != 0 ||
        (size_t)nusers > ((size_t)self->view.len - (size_t)users_off) / 8 ||
        users_off > self->view.len || ring_off < -1 || ring_off > self->view.len ||
        (ring_off >= 0 && ((uintptr_t)self->view.buf + (size_t)ring_off) % PC_CACHELINE != 0)) {
        PyErr_SetString(PyExc_ValueError, "IpcHandle: offsets outside the mapping");
        Py_DECREF(self);
        return NULL;
    }
    self->users = (pc_ipc_user_t *)((char *)self->view.buf + users_off);
    self->nusers = (uint32_t)nusers;
    atomic_store_explicit(&self->slot, -1, memory_order_relaxed);
    if (ring_off >= 0) {
        pc_shring_t *r = (pc_shring_t *)((char *)self->view.buf + ring_off);
        if (new_cells > 0) {
            if (new_cells < PC_SHRING_MIN_CELLS || new_cells > PC_SHRING_MAX_CELLS ||
                (new_cells & (new_cells - 1)) != 0 ||
                pc_shring_bytes(new_cells) > (uint64_t)(self->view.len - ring_off)) {
                PyErr_SetString(PyExc_ValueError, "IpcHandle: no room for that ring");
                Py_DECREF(self);
                return NULL;
            }
            pc_shring_init(r, new_cells, rx_pid);
        }
        if (pc_shring_check(r, (uint64_t)(self->view.len - ring_off)) != 0) {
            PyErr_SetString(PyExc_ValueError, "the shared segment holds a damaged channel");
            Py_DECREF(self);
            return NULL;
        }
        self->ring = r;
        self->max_payload = pc_shring_max_payload(pc_shring_cells(r));
        self->buf = PyMem_RawMalloc(PC_SHRING_PY_BUF0);
        if (self->buf == NULL) {
            Py_DECREF(self);
            return PyErr_NoMemory();
        }
        self->bufsize = PC_SHRING_PY_BUF0;
    }
    return (PyObject *)self;
}

static int pc_shring_py_traverse(pc_shring_py *self, visitproc visit, void *arg)
{
    Py_VISIT(self->pending);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int pc_shring_py_clear(pc_shring_py *self)
{
    Py_CLEAR(self->pending);
    return 0;
}

static void pc_shring_py_dealloc(pc_shring_py *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pc_shring_py_clear(self);
    PyMem_RawFree(self->buf);
    if (self->view.obj != NULL)
        PyBuffer_Release(&self->view);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

#define PC_SHRING_PY_KW(name, fn, doc) \
    {name, (PyCFunction)(void (*)(void))fn, METH_FASTCALL | METH_KEYWORDS, PyDoc_STR(doc)}

static PyMethodDef pc_shring_py_methods[] = {
    PC_SHRING_PY_KW("send", pc_shring_py_send,
                    "send($self, obj, /, timeout=None)\n--\n\n"
                    "Pickle obj and send it, waiting while the ring is full."),
    PC_SHRING_PY_KW("try_send", pc_shring_py_try_send,
                    "try_send($self, obj, /)\n--\n\nSend obj now or raise Full."),
    PC_SHRING_PY_KW("send_bytes", pc_shring_py_send_bytes,
                    "send_bytes($self, data, /, timeout=None)\n--\n\n"
                    "Send bytes-like data as one record."),
    PC_SHRING_PY_KW("try_send_bytes", pc_shring_py_try_send_bytes,
                    "try_send_bytes($self, data, /)\n--\n\nsend_bytes now or Full."),
    PC_SHRING_PY_KW("recv", pc_shring_py_recv,
                    "recv($self, /, timeout=None)\n--\n\nReceive and unpickle a record."),
    PC_SHRING_PY_KW("try_recv", pc_shring_py_try_recv,
                    "try_recv($self, /)\n--\n\nrecv() without waiting (Empty)."),
    PC_SHRING_PY_KW("recv_bytes", pc_shring_py_recv_bytes,
                    "recv_bytes($self, /, timeout=None)\n--\n\nReceive a record's bytes."),
    PC_SHRING_PY_KW("try_recv_bytes", pc_shring_py_try_recv_bytes,
                    "try_recv_bytes($self, /)\n--\n\nrecv_bytes() without waiting."),
    {"recv_many", (PyCFunction)(void (*)(void))pc_shring_py_recv_many, METH_FASTCALL,
     PyDoc_STR("recv_many($self, max_items, timeout, decode, /)\n--\n\n"
               "Wait for one record, return it with those already waiting.")},
    {"users_add", (PyCFunction)(void (*)(void))pc_shring_py_users_add, METH_FASTCALL,
     PyDoc_STR("users_add($self, pid, delta, /)\n--\n\n"
               "Add delta to pid's references in the segment's users table.")},
    {"users_live", (PyCFunction)pc_shring_py_users_live, METH_NOARGS,
     PyDoc_STR("users_live($self, /)\n--\n\nReferences held by live processes.")},
    {"register", (PyCFunction)pc_shring_py_register, METH_O,
     PyDoc_STR("register($self, pid, /)\n--\n\n"
               "One more sender handle of process pid: its slot (this handle's), or -1.")},
    {"handles_add", (PyCFunction)(void (*)(void))pc_shring_py_handles_add, METH_FASTCALL,
     PyDoc_STR("handles_add($self, slot, pid, delta, /)\n--\n\n"
               "Add delta handles to slot if it belongs to pid.")},
    {"senders", (PyCFunction)pc_shring_py_senders, METH_O,
     PyDoc_STR("senders($self, alive, /)\n--\n\nSender handles (of live processes).")},
    {"receiver", (PyCFunction)pc_shring_py_receiver, METH_NOARGS,
     PyDoc_STR("receiver($self, /)\n--\n\nThe pid holding the receive side.")},
    {"set_receiver", (PyCFunction)pc_shring_py_set_receiver, METH_O,
     PyDoc_STR("set_receiver($self, pid, /)\n--\n\nTake the receive side for pid.")},
    {"close_receiver", (PyCFunction)pc_shring_py_close_receiver, METH_NOARGS,
     PyDoc_STR("close_receiver($self, /)\n--\n\nClose the receive side.")},
    {"receiver_gone", (PyCFunction)pc_shring_py_receiver_gone, METH_O,
     PyDoc_STR("receiver_gone($self, check_alive, /)\n--\n\n"
               "True if the receive side is closed (or its process dead).")},
    {"len", (PyCFunction)pc_shring_py_len, METH_NOARGS,
     PyDoc_STR("len($self, /)\n--\n\nRecords waiting (a snapshot).")},
    {"stats", (PyCFunction)pc_shring_py_stats, METH_NOARGS,
     PyDoc_STR("stats($self, /)\n--\n\n(skipped records, skipped bytes, head, tail).")},
    {"max_payload", (PyCFunction)pc_shring_py_max_payload, METH_NOARGS,
     PyDoc_STR("max_payload($self, /)\n--\n\nThe largest record the ring takes.")},
    {"close", (PyCFunction)pc_shring_py_close, METH_NOARGS,
     PyDoc_STR("close($self, /)\n--\n\n"
               "Close this handle (HandleClosed from now on); True if it was open.")},
#ifdef PC_TEST_HOOKS
    {"debug_abandon", (PyCFunction)pc_shring_py_debug_abandon, METH_O,
     PyDoc_STR("debug_abandon($self, len, /)\n--\n\n"
               "Tests: claim a record and never commit it.")},
    {"debug_die_in_recv", (PyCFunction)(void (*)(void))pc_shring_py_debug_die_in_recv,
     METH_FASTCALL,
     PyDoc_STR("debug_die_in_recv($self, dead_pid, records, first, /)\n--\n\n"
               "Tests: leave the ring as a consumer killed mid-receive would.")},
#endif
    {"wait_recv", (PyCFunction)pc_shring_py_wait_recv, METH_O,
     PyDoc_STR("wait_recv($self, timeout, /)\n--\n\n"
               "One park for a record, GIL released; True if woken.")},
    {"__reduce__", (PyCFunction)pc_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC},
    {"__copy__", (PyCFunction)pc_py_no_copy, METH_NOARGS, PC_PY_COPY_DOC},
    {"__deepcopy__", (PyCFunction)pc_py_no_copy, METH_O, PC_PY_DEEPCOPY_DOC},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pc_shring_py_getset[] = {
    {"closed", (getter)pc_shring_py_closed, NULL, PyDoc_STR("True after close()."), NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot pc_shring_py_slots[] = {
    {Py_tp_doc, (void *)PyDoc_STR(
         "IpcHandle(mapping, users_offset, nusers, ring_offset)\n--\n\n"
         "One process's handle on a pyconc.ipc shared segment (private: "
         "pyconc.ipc's Sender, Receiver and segments hold one each).  It keeps "
         "the mapping exported for as long as it lives and exposes no address.\n\n"
         "Without the GIL: the ring is shared-memory atomics; the handle's "
         "flags are atomics; the receive buffer and the records handed back "
         "belong to the thread that holds the handle's busy word.")},
    {Py_tp_new, (void *)pc_shring_py_new},
    {Py_tp_dealloc, (void *)pc_shring_py_dealloc},
    {Py_tp_traverse, (void *)pc_shring_py_traverse},
    {Py_tp_clear, (void *)pc_shring_py_clear},
    {Py_tp_methods, pc_shring_py_methods},
    {Py_tp_getset, pc_shring_py_getset},
    {0, NULL}};

static PyType_Spec pc_shring_py_spec = {
    "pyconc._core.IpcHandle", sizeof(pc_shring_py), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_shring_py_slots};

static int pc_shring_py_init(PyObject *m)
{
    return pc_py_add_type(m, &pc_shring_py_spec) == NULL ? -1 : 0;
}

#endif /* PC_SHRING_PY_H */
