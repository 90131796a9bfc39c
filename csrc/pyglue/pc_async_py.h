/*
 * pyglue/pc_async_py.h - asyncio without a thread per waiter: the C types
 * behind recv_async / send_async / `async for` of channels, broadcast
 * receivers and pyconc.ipc (CPython C API; included by pc_py_module.h
 * after pc_chan_py.h and pc_bcast_py.h, whose types it extends at init).
 *
 * The mechanism (pc_async.h): each event loop has one _AsyncHub, an fd the
 * loop watches with add_reader; each channel (each broadcast channel, each
 * ipc ring in this process) has lists of waiting coroutines.  A coroutine
 * that must wait makes a future, arms an _AsyncWaiter with it (registering
 * in the list), re-checks, and awaits the future.  Whoever makes the thing
 * it waits for available (a send in any thread, a receive making room, a
 * close) fires the waiter with no GIL and no Python call: the record moves
 * to its loop's hub and the hub's fd is written once.  The loop's reader
 * callback (_AsyncHub._drain, with the GIL) resolves the futures.  So a
 * pending await costs one small object, whatever their number, and no
 * thread: a loop can exit at once.
 *
 * Why an fd written from C rather than loop.call_soon_threadsafe from the
 * notifying thread: the notifier need not hold the GIL nor run Python (a
 * send stays one C call; a notifier without the GIL, such as a C watcher
 * or a free-threaded sender, can wake a loop), a loop woken for many
 * coroutines pays one system call, and the wake-up skips call_soon_threadsafe's
 * Handle, deque and self-pipe read in Python (measured in
 * pyconc/_bench/async_scenarios.py: the latency of one value against
 * call_soon_threadsafe's).
 *
 * Cancellation: a value is taken only by a try-operation that runs in the
 * coroutine, on the loop's thread, between two awaits (pyconc/_async.py),
 * so a cancellation (which lands at an await) never loses one nor takes
 * one twice.  A waiter fired and then cancelled passes its wake-up on to
 * the next waiter (_async_chain), so no coroutine is left asleep beside a
 * value.
 *
 * The fast path of recv_async, send_async and `async for` is C too: the
 * methods return a _Ready coroutine that does the try-operation at its
 * first step (never before: one dropped unawaited, as by a cancelled
 * wait_for, takes nothing) and returns at once if it succeeded, with no
 * Python frame; otherwise it hands over to the Python coroutine of
 * pyconc/_async.py that waits as above.
 *
 * What protects the state without the GIL (free-threaded builds): the
 * lists and hubs are pc_async.h's (a spin lock, atomics); a waiter's
 * Python fields are set before it is armed and cleared only when it is
 * disarmed or drained; a _Ready object is used by the one coroutine that
 * awaits it.
 *
 * Length: three mechanisms that only work together (the per-loop hub and
 * its descriptor, the waiter records, the _Ready coroutine that runs the
 * fast path in C) and the methods they add to the channel and broadcast
 * types; the locks' acquires, which reuse _Ready, are pc_async_lock_py.h
 * and pc_async_wait_py.h.
 */
#ifndef PC_ASYNC_PY_H
#define PC_ASYNC_PY_H

#include "pc_async.h"

static PyTypeObject *pc_async_py_Hub;
static PyTypeObject *pc_async_py_Waiter;
static PyTypeObject *pc_async_py_Ready;
static PyTypeObject *pc_async_py_List;

/* The waiting halves, Python coroutines of pyconc/_async.py, handed over
 * once by _async_setup. */
static PyObject *pc_async_py_recv_slow;  /* (rx, timeout) */
static PyObject *pc_async_py_anext_slow; /* (rx) */
static PyObject *pc_async_py_send_slow;  /* (tx, value, timeout) */
static PyObject *pc_async_py_acquire_slow; /* (lock, which, timeout, arg) */
static PyObject *pc_async_py_again;        /* pyconc._async.AGAIN: "not yet" */
/* The coroutines of the waits with no C fast path (pc_async_wait_py.h). */
static PyObject *pc_async_py_condvar_wait; /* (cv, guard, timeout, predicate, pair) */
static PyObject *pc_async_py_barrier_wait; /* (barrier) */
static PyObject *pc_async_py_bcast_closed; /* (sender, timeout) */
static PyObject *pc_async_py_str_done, *pc_async_py_str_set_result,
    *pc_async_py_str_await;

/* ------------------------------------------------------------------ hub */

typedef struct {
    PyObject_HEAD
    pc_async_hub_t hub;
    intptr_t rfd; /* the read end (-1: read by Python, the Proactor loop) */
    intptr_t wfd;
} pc_async_py_hub;

/* _AsyncHub(rfd, wfd, kind): takes over both descriptors (rfd == wfd for
 * an eventfd; rfd -1 when Python reads the fd). */
static PyObject *pc_async_py_hub_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    long long rfd, wfd;
    int kind;
    pc_async_py_hub *self;
    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        PyErr_SetString(PyExc_TypeError, "_AsyncHub takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "LLi:_AsyncHub", &rfd, &wfd, &kind))
        return NULL;
    if (kind < PC_ASYNC_FD_EVENTFD || kind > PC_ASYNC_FD_SOCKET || wfd < 0) {
        PyErr_SetString(PyExc_ValueError, "_AsyncHub: bad descriptor or kind");
        return NULL;
    }
    self = (pc_async_py_hub *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->rfd = (intptr_t)rfd;
    self->wfd = (intptr_t)wfd;
    pc_async_hub_init(&self->hub, kind, (intptr_t)wfd);
    return (PyObject *)self;
}

static void pc_async_py_hub_dealloc(pc_async_py_hub *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* No record is left: each holds a reference to its hub. */
    pc_async_fd_close(self->wfd);
    if (self->rfd != self->wfd)
        pc_async_fd_close(self->rfd);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

typedef struct pc_async_py_waiter pc_async_py_waiter;

/* Resolve a fired waiter's future (with the GIL): set_result(None) unless
 * it is done (cancelled, or resolved by its timer). */
static void pc_async_py_resolve(PyObject *fut)
{
    PyObject *done, *r;
    if (fut == NULL)
        return;
    done = PyObject_CallMethodNoArgs(fut, pc_async_py_str_done);
    if (done == NULL) {
        PyErr_WriteUnraisable(fut);
        return;
    }
    if (done == Py_False) {
        r = PyObject_CallMethodOneArg(fut, pc_async_py_str_set_result, Py_None);
        if (r == NULL)
            PyErr_WriteUnraisable(fut); /* its loop is closed, say: nobody waits */
        Py_XDECREF(r);
    }
    Py_DECREF(done);
}

struct pc_async_py_waiter {
    PyObject_HEAD
    pc_async_rec_t rec;
    pc_async_list_t *list; /* armed in (NULL: never armed, or disarmed) */
    pc_bcast_t *bcast;     /* a broadcast receiver's: unprepare on disarm */
    PyObject *fut;         /* the future the hub resolves */
    PyObject *hub;         /* its _AsyncHub */
    PyObject *holder;      /* keeps `list` alive (a handle or state) */
};

/* _drain(): the loop's reader callback.  Empties the fd, then resolves
 * the future of every waiter fired since the last call. */
static PyObject *pc_async_py_hub_drain(pc_async_py_hub *self, PyObject *unused)
{
    pc_async_rec_t *rec;
    (void)unused;
    if (self->rfd >= 0)
        pc_async_fd_drain(self->hub.kind, self->rfd);
    rec = pc_async_hub_take(&self->hub);
    while (rec != NULL) {
        pc_async_rec_t *next = rec->ready_next;
        pc_async_py_waiter *w = (pc_async_py_waiter *)rec->owner;
        pc_async_py_resolve(w->fut);
        Py_DECREF(w); /* the hub's reference (the list's, moved) */
        rec = next;
    }
    Py_RETURN_NONE;
}

static PyObject *pc_async_py_hub_fileno(pc_async_py_hub *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromLongLong((long long)(self->rfd >= 0 ? self->rfd : self->wfd));
}

static PyMethodDef pc_async_py_hub_methods[] = {
    {"_drain", (PyCFunction)pc_async_py_hub_drain, METH_NOARGS,
     "_drain($self, /)\n--\n\nThe event loop's reader callback: resolve the "
     "futures of the waiters fired."},
    {"fileno", (PyCFunction)pc_async_py_hub_fileno, METH_NOARGS,
     "fileno($self, /)\n--\n\nThe descriptor the event loop watches."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_async_py_hub_slots[] = {
    {Py_tp_doc,
     "One event loop's waker (pyconc/_async.py makes one per loop).\n\n"
     "Thread safety without the GIL: notifiers push fired waiters with a\n"
     "compare-and-swap and write the descriptor once (pc_async.h); only\n"
     "the loop's thread drains."},
    {Py_tp_new, (void *)pc_async_py_hub_new},
    {Py_tp_dealloc, (void *)pc_async_py_hub_dealloc},
    {Py_tp_methods, pc_async_py_hub_methods},
    {0, NULL},
};

static PyType_Spec pc_async_py_hub_spec = {
    "pyconc._async._AsyncHub", sizeof(pc_async_py_hub), 0, Py_TPFLAGS_DEFAULT,
    pc_async_py_hub_slots};

/* --------------------------------------------------------------- waiter */

static int pc_async_py_waiter_traverse(pc_async_py_waiter *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->fut);
    Py_VISIT(self->hub);
    Py_VISIT(self->holder);
    return 0;
}

static int pc_async_py_waiter_clear(pc_async_py_waiter *self)
{
    /* Only reached unarmed: an armed waiter is referenced by its list. */
    Py_CLEAR(self->fut);
    Py_CLEAR(self->hub);
    Py_CLEAR(self->holder);
    return 0;
}

static void pc_async_py_waiter_dealloc(pc_async_py_waiter *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pc_async_py_waiter_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/*
 * Arm a new waiter on `list` for the loop of `hub`, resolving `fut`.  The
 * caller re-checks its condition afterwards (the fence of
 * pc_async_list_add orders that).  bcast: a broadcast's counters, whose
 * async_waiters count is raised after the list add (pc_bcast_py_wake_async
 * fires the list).
 */
static PyObject *pc_async_py_arm(pc_async_list_t *list, PyObject *holder, PyObject *hub,
                                 PyObject *fut, pc_bcast_t *bcast)
{
    pc_async_py_waiter *w;
    if (!Py_IS_TYPE(hub, pc_async_py_Hub)) {
        PyErr_SetString(PyExc_TypeError, "_async_arm(hub, future): hub must be an _AsyncHub");
        return NULL;
    }
    w = PyObject_GC_New(pc_async_py_waiter, pc_async_py_Waiter);
    if (w == NULL)
        return NULL;
    memset(&w->rec, 0, sizeof w->rec);
    w->rec.owner = w;
    w->rec.hub = &((pc_async_py_hub *)hub)->hub;
    w->list = list;
    w->bcast = bcast;
    w->fut = Py_NewRef(fut);
    w->hub = Py_NewRef(hub);
    w->holder = Py_NewRef(holder);
    PyObject_GC_Track(w);
    Py_INCREF(w); /* the list's reference */
    pc_async_list_add(list, &w->rec);
    if (bcast != NULL)
        (void)pc_bcast_prepare(bcast, true);
    return (PyObject *)w;
}

/* disarm() -> bool: unregister (idempotent).  True if a notifier fired the
 * waiter first (its future is or will be resolved): a caller that then
 * leaves without using the wake-up passes it on (_async_chain). */
static PyObject *pc_async_py_waiter_disarm(pc_async_py_waiter *self, PyObject *unused)
{
    pc_async_list_t *list = self->list;
    bool fired;
    (void)unused;
    if (list == NULL)
        Py_RETURN_FALSE;
    self->list = NULL;
    fired = !pc_async_list_remove(list, &self->rec);
    if (self->bcast != NULL)
        pc_bcast_unprepare(self->bcast, true);
    if (!fired)
        Py_DECREF(self); /* the list's reference (the caller holds one) */
    return PyBool_FromLong(fired);
}

static PyMethodDef pc_async_py_waiter_methods[] = {
    {"disarm", (PyCFunction)pc_async_py_waiter_disarm, METH_NOARGS,
     "disarm($self, /)\n--\n\ndisarm() -> bool\n\nUnregister; True if the waiter "
     "was fired first."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_async_py_waiter_slots[] = {
    {Py_tp_doc,
     "One pending await: registered in a channel's list until fired or\n"
     "disarmed.\n\n"
     "Thread safety without the GIL: the list's spin lock (pc_async.h);\n"
     "the Python fields are set before arming and only read by the\n"
     "loop's drain and the owning coroutine."},
    {Py_tp_dealloc, (void *)pc_async_py_waiter_dealloc},
    {Py_tp_traverse, (void *)pc_async_py_waiter_traverse},
    {Py_tp_clear, (void *)pc_async_py_waiter_clear},
    {Py_tp_methods, pc_async_py_waiter_methods},
    {0, NULL},
};

static PyType_Spec pc_async_py_waiter_spec = {
    "pyconc._async._AsyncWaiter", sizeof(pc_async_py_waiter), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_async_py_waiter_slots};

/* ---------------------------------------------------------- list (ipc) */

/* A list of its own, for pyconc.ipc's receivers (the ring is in shared
 * memory; its waiting coroutines are this process's).  A watcher thread
 * (pyconc/_async.py) parks in _wait_armed while no coroutine waits, and on
 * the ring's futex while some do. */
typedef struct {
    PyObject_HEAD
    pc_async_list_t list;
    _Atomic uint32_t epoch;    /* bumped to wake the watcher */
    _Atomic uint32_t sleeping; /* the watcher is parked in _wait_armed */
} pc_async_py_list;

static PyObject *pc_async_py_list_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    pc_async_py_list *self;
    if ((args != NULL && PyTuple_GET_SIZE(args) != 0) || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "_AsyncList() takes no arguments");
        return NULL;
    }
    self = (pc_async_py_list *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    pc_async_list_init(&self->list);
    /* relaxed: not shared yet. */
    atomic_store_explicit(&self->epoch, 0, memory_order_relaxed);
    atomic_store_explicit(&self->sleeping, 0, memory_order_relaxed);
    return (PyObject *)self;
}

static void pc_async_py_list_dealloc(pc_async_py_list *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Wake the watcher if it is parked (after an arm, or to stop it). */
static void pc_async_py_list_poke(pc_async_py_list *self)
{
    /* seq_cst: the armer's half of the Dekker pair with the watcher's
     * (sleeping = 1, then the look at `waiting`); the list add before this
     * was seq_cst too. */
    if (atomic_load_explicit(&self->sleeping, memory_order_seq_cst) != 0) {
        /* release: nothing to publish beyond the list; the bump changes
         * the futex word. */
        atomic_fetch_add_explicit(&self->epoch, 1, memory_order_release);
        pc_park_wake_all(&self->epoch, false);
    }
}

static PyObject *pc_async_py_list_arm(pc_async_py_list *self, PyObject *const *args,
                                      Py_ssize_t nargs)
{
    PyObject *w;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_arm(hub, future)");
        return NULL;
    }
    w = pc_async_py_arm(&self->list, (PyObject *)self, args[0], args[1], NULL);
    if (w != NULL)
        pc_async_py_list_poke(self);
    return w;
}

static PyObject *pc_async_py_list_wake(pc_async_py_list *self, PyObject *arg)
{
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromUnsignedLong(
        pc_async_list_wake(&self->list, n < 0 || n >= PC_ASYNC_ALL ? PC_ASYNC_ALL : (uint32_t)n));
}

static PyObject *pc_async_py_list_waiting(pc_async_py_list *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(pc_async_waiting(&self->list));
}

/* _wait_armed(ns) -> bool: wait (without the GIL) at most ns until a
 * coroutine is registered; True if one is. */
static PyObject *pc_async_py_list_wait_armed(pc_async_py_list *self, PyObject *arg)
{
    long long ns = PyLong_AsLongLong(arg);
    uint32_t seen;
    if (ns == -1 && PyErr_Occurred())
        return NULL;
    /* acquire: as the futex word's readers do. */
    seen = atomic_load_explicit(&self->epoch, memory_order_acquire);
    /* seq_cst: see pc_async_py_list_poke. */
    atomic_store_explicit(&self->sleeping, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&self->list.waiting, memory_order_seq_cst) == 0 && ns > 0)
        PC_PY_WITHOUT_GIL((void)pc_park_wait(&self->epoch, seen, ns, false));
    /* relaxed: our own flag; a late poke only wakes us needlessly. */
    atomic_store_explicit(&self->sleeping, 0, memory_order_relaxed);
    return PyBool_FromLong(pc_async_waiting(&self->list) != 0);
}

/* _poke(): wake a watcher parked in _wait_armed (to stop it). */
static PyObject *pc_async_py_list_poke_m(pc_async_py_list *self, PyObject *unused)
{
    (void)unused;
    atomic_fetch_add_explicit(&self->epoch, 1, memory_order_release);
    pc_park_wake_all(&self->epoch, false);
    Py_RETURN_NONE;
}

static PyMethodDef pc_async_py_list_methods[] = {
    {"_arm", (PyCFunction)(void (*)(void))pc_async_py_list_arm, METH_FASTCALL,
     "_arm($self, hub, future, /)\n--\n\nRegister a waiter."},
    {"_wake", (PyCFunction)pc_async_py_list_wake, METH_O,
     "_wake($self, n, /)\n--\n\nFire up to n waiters (-1: all); returns how many stay."},
    {"_waiting", (PyCFunction)pc_async_py_list_waiting, METH_NOARGS,
     "_waiting($self, /)\n--\n\nWaiters registered."},
    {"_wait_armed", (PyCFunction)pc_async_py_list_wait_armed, METH_O,
     "_wait_armed($self, ns, /)\n--\n\nWait at most ns until a waiter is registered."},
    {"_poke", (PyCFunction)pc_async_py_list_poke_m, METH_NOARGS,
     "_poke($self, /)\n--\n\nWake the watcher."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_async_py_list_slots[] = {
    {Py_tp_doc,
     "The waiting coroutines of one pyconc.ipc receiver in this process.\n\n"
     "Thread safety without the GIL: pc_async.h's list (a spin lock) and\n"
     "two atomics for the watcher's parking."},
    {Py_tp_new, (void *)pc_async_py_list_new},
    {Py_tp_dealloc, (void *)pc_async_py_list_dealloc},
    {Py_tp_methods, pc_async_py_list_methods},
    {0, NULL},
};

static PyType_Spec pc_async_py_list_spec = {
    "pyconc._async._AsyncList", sizeof(pc_async_py_list), 0, Py_TPFLAGS_DEFAULT,
    pc_async_py_list_slots};

/* --------------------------------------------------------------- _Ready */

enum { PC_ASYNC_PY_RECV = 0, PC_ASYNC_PY_ANEXT = 1, PC_ASYNC_PY_SEND = 2,
       PC_ASYNC_PY_ACQUIRE = 3 /* a lock's (pc_async_lock_py.h) */ };
enum { PC_ASYNC_PY_NEW = 0, PC_ASYNC_PY_SPENT = 2 };

typedef struct pc_async_py_ready pc_async_py_ready;

/* An acquire's try (pc_async_lock_py.h), with the GIL, never waiting: 1
 * and *out set (a new reference), 0 if the slow path must take over, -1
 * with an error set (it may hold what it took, e.g. a PoisonError's
 * guard). */
typedef int (*pc_async_py_try_fn)(pc_async_py_ready *self, PyObject **out);

struct pc_async_py_ready {
    PyObject_HEAD
    PyObject *handle;  /* the Receiver or Sender; acquire: the lock */
    PyObject *arg;     /* send: the value; recv, acquire: the timeout (may be NULL) */
    PyObject *timeout; /* send: the timeout (may be NULL); acquire: its argument */
    PyObject *inner;   /* the slow path's coroutine, once it took over */
    int mode, state;
    /* acquire only */
    pc_async_py_try_fn try_fn;
    int which;         /* what the slow path acquires (pyconc/_async.py) */
    PyObject *result;  /* what the await returned, for __aexit__ */
};

enum { PC_ASYNC_PY_INNER = 1 }; /* state: the slow coroutine runs */

/* A new coroutine object of type tp (_Ready, or pc_async_lock_py.h's
 * _Acquire). */
static PyObject *pc_async_py_ready_new(PyTypeObject *tp, PyObject *handle, PyObject *arg,
                                       PyObject *timeout, int mode)
{
    pc_async_py_ready *self = PyObject_GC_New(pc_async_py_ready, tp);
    if (self == NULL)
        return NULL;
    self->handle = Py_NewRef(handle);
    self->arg = Py_XNewRef(arg);
    self->timeout = Py_XNewRef(timeout);
    self->inner = NULL;
    self->mode = mode;
    self->state = PC_ASYNC_PY_NEW;
    self->try_fn = NULL;
    self->which = 0;
    self->result = NULL;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *pc_async_py_ready_make(PyObject *handle, PyObject *arg, PyObject *timeout,
                                        int mode)
{
    return pc_async_py_ready_new(pc_async_py_Ready, handle, arg, timeout, mode);
}

static int pc_async_py_ready_traverse(pc_async_py_ready *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->handle);
    Py_VISIT(self->arg);
    Py_VISIT(self->timeout);
    Py_VISIT(self->inner);
    Py_VISIT(self->result);
    return 0;
}

static int pc_async_py_ready_clear(pc_async_py_ready *self)
{
    Py_CLEAR(self->handle);
    Py_CLEAR(self->arg);
    Py_CLEAR(self->timeout);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->result);
    return 0;
}

static void pc_async_py_ready_dealloc(pc_async_py_ready *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pc_async_py_ready_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The try-operation, with the GIL, never waiting: 1 and *out set (a new
 * reference) if it succeeded, 0 if the slow path must take over (empty,
 * full, or an error the slow path's own try will raise properly). */
static int pc_async_py_try(pc_async_py_ready *self, PyObject **out)
{
    pc_chan_py_handle *h = (pc_chan_py_handle *)self->handle;
    if (self->mode == PC_ASYNC_PY_ACQUIRE)
        return self->try_fn(self, out);
    if (PC_UNLIKELY(atomic_load_explicit(&h->closed, memory_order_relaxed)))
        return 0; /* relaxed: a use-after-close check; the slow path raises */
    if (self->mode == PC_ASYNC_PY_SEND) {
        int r;
        if (h->chan->kind == PC_CHAN_RENDEZVOUS)
            return 0; /* a hand-over: the slow path waits for delivery */
        Py_INCREF(self->arg); /* the queue's reference */
        r = pc_chan_trysend(h->chan, self->arg, NULL);
        if (PC_UNLIKELY(r != PC_CHAN_OK)) {
            Py_DECREF(self->arg);
            return 0;
        }
        *out = Py_NewRef(Py_None);
        return 1;
    } else {
        PyObject *v = NULL;
        pc_status st;
        st = pc_chan_py_pop(h, &v); /* takes the consumer lock itself (MPMC) */
        if (PC_UNLIKELY(st != PC_OK))
            return 0;
        *out = v;
        return 1;
    }
}

/* The slow path's coroutine (pyconc/_async.py), a new reference. */
static PyObject *pc_async_py_slow(pc_async_py_ready *self)
{
    if (pc_async_py_recv_slow == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "pyconc._async is not set up");
        return NULL;
    }
    if (self->mode == PC_ASYNC_PY_RECV)
        return PyObject_CallFunctionObjArgs(pc_async_py_recv_slow, self->handle,
                                            self->arg ? self->arg : Py_None, NULL);
    if (self->mode == PC_ASYNC_PY_ANEXT)
        return PyObject_CallOneArg(pc_async_py_anext_slow, self->handle);
    if (self->mode == PC_ASYNC_PY_ACQUIRE) {
        PyObject *which = PyLong_FromLong(self->which), *r;
        if (which == NULL)
            return NULL;
        r = PyObject_CallFunctionObjArgs(pc_async_py_acquire_slow, self->handle, which,
                                         self->arg ? self->arg : Py_None,
                                         self->timeout ? self->timeout : Py_None, NULL);
        Py_DECREF(which);
        return r;
    }
    return PyObject_CallFunctionObjArgs(pc_async_py_send_slow, self->handle, self->arg,
                                        self->timeout ? self->timeout : Py_None, NULL);
}

static PyObject *pc_async_py_spent(void)
{
    PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine "
                    "(recv_async, send_async, __anext__)");
    return NULL;
}

/*
 * One step, as a coroutine's send: the first does the try-operation (so
 * that an awaitable never awaited takes nothing) and returns its result
 * at once when it succeeds; otherwise the slow coroutine takes over and
 * every step goes to it.
 */
static PySendResult pc_async_py_ready_send(pc_async_py_ready *self, PyObject *arg,
                                           PyObject **result)
{
    PySendResult r;
    if (PC_LIKELY(self->state == PC_ASYNC_PY_NEW)) {
        int t = pc_async_py_try(self, result);
        if (PC_LIKELY(t > 0)) {
            self->state = PC_ASYNC_PY_SPENT;
            if (self->mode == PC_ASYNC_PY_ACQUIRE)
                self->result = Py_NewRef(*result);
            return PYGEN_RETURN;
        }
        self->state = PC_ASYNC_PY_SPENT;
        if (t < 0) {
            *result = NULL;
            return PYGEN_ERROR;
        }
        if ((self->inner = pc_async_py_slow(self)) == NULL) {
            *result = NULL;
            return PYGEN_ERROR;
        }
        self->state = PC_ASYNC_PY_INNER;
        arg = Py_None;
    }
    if (self->state != PC_ASYNC_PY_INNER) {
        *result = pc_async_py_spent();
        return PYGEN_ERROR;
    }
    r = PyIter_Send(self->inner, arg, result);
    if (r != PYGEN_NEXT) {
        self->state = PC_ASYNC_PY_SPENT;
        Py_CLEAR(self->inner);
        if (r == PYGEN_RETURN && self->mode == PC_ASYNC_PY_ACQUIRE)
            self->result = Py_NewRef(*result);
    }
    return r;
}

/* A step's outcome as a Python-level call gives it: the value yielded,
 * or NULL with StopIteration(value) or the error set. */
static PyObject *pc_async_py_step_result(PySendResult r, PyObject *res)
{
    PyObject *exc;
    if (r == PYGEN_NEXT)
        return res;
    if (r == PYGEN_ERROR)
        return NULL;
    exc = PyObject_CallOneArg(PyExc_StopIteration, res);
    Py_DECREF(res);
    if (exc != NULL) {
        PyErr_SetObject(PyExc_StopIteration, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *pc_async_py_ready_next(pc_async_py_ready *self)
{
    PyObject *res;
    PySendResult r = pc_async_py_ready_send(self, Py_None, &res);
    return pc_async_py_step_result(r, res);
}

static PyObject *pc_async_py_ready_send_m(pc_async_py_ready *self, PyObject *arg)
{
    PyObject *res;
    PySendResult r;
    if (self->state == PC_ASYNC_PY_NEW && arg != Py_None) {
        PyErr_SetString(PyExc_TypeError,
                        "can't send non-None value to a just-started coroutine");
        return NULL;
    }
    r = pc_async_py_ready_send(self, arg, &res);
    return pc_async_py_step_result(r, res);
}

/* throw(type[, value[, traceback]]): into the slow coroutine if it runs;
 * before the first step (a task cancelled before it started), the
 * exception is raised here, nothing having been taken. */
static PyObject *pc_async_py_ready_throw(pc_async_py_ready *self, PyObject *args)
{
    PyObject *typ, *val = NULL, *tb = NULL, *meth, *res;
    if (self->state == PC_ASYNC_PY_INNER) {
        meth = PyObject_GetAttrString(self->inner, "throw");
        if (meth == NULL)
            return NULL;
        res = PyObject_Call(meth, args, NULL);
        Py_DECREF(meth);
        if (res == NULL) {
            self->state = PC_ASYNC_PY_SPENT;
            Py_CLEAR(self->inner);
        }
        return res;
    }
    self->state = PC_ASYNC_PY_SPENT;
    if (!PyArg_UnpackTuple(args, "throw", 1, 3, &typ, &val, &tb))
        return NULL;
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    } else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, val);
    } else {
        PyErr_SetString(PyExc_TypeError, "exceptions must derive from BaseException");
    }
    return NULL;
}

static PyObject *pc_async_py_ready_close_m(pc_async_py_ready *self, PyObject *unused)
{
    PyObject *inner = self->inner, *r;
    (void)unused;
    self->state = PC_ASYNC_PY_SPENT;
    if (inner == NULL)
        Py_RETURN_NONE;
    self->inner = NULL;
    r = PyObject_CallMethod(inner, "close", NULL);
    Py_DECREF(inner);
    return r;
}

static PyObject *pc_async_py_ready_await(pc_async_py_ready *self)
{
    return Py_NewRef((PyObject *)self);
}

/* A coroutine's methods and slots, shared by _Ready and by
 * pc_async_lock_py.h's _Acquire (the same struct, other methods added). */
#define PC_ASYNC_PY_CORO_METHODS                                                  \
    {"send", (PyCFunction)pc_async_py_ready_send_m, METH_O,                        \
     "send($self, value, /)\n--\n\nAs a coroutine's send()."},                      \
        {"throw", (PyCFunction)pc_async_py_ready_throw, METH_VARARGS,              \
         "throw($self, typ, val=None, tb=None, /)\n--\n\nAs a coroutine's throw()."}, \
        {"close", (PyCFunction)pc_async_py_ready_close_m, METH_NOARGS,             \
         "close($self, /)\n--\n\nAs a coroutine's close()."}

#define PC_ASYNC_PY_CORO_SLOTS                                                    \
    {Py_tp_dealloc, (void *)pc_async_py_ready_dealloc},                           \
        {Py_tp_traverse, (void *)pc_async_py_ready_traverse},                     \
        {Py_tp_clear, (void *)pc_async_py_ready_clear},                           \
        {Py_am_await, (void *)pc_async_py_ready_await},                           \
        {Py_am_send, (void *)pc_async_py_ready_send},                             \
        {Py_tp_iter, (void *)PyObject_SelfIter},                                  \
        {Py_tp_iternext, (void *)pc_async_py_ready_next}

static PyMethodDef pc_async_py_ready_methods[] = {
    PC_ASYNC_PY_CORO_METHODS,
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_async_py_ready_slots[] = {
    {Py_tp_doc,
     "The coroutine of recv_async(), send_async() and `async for`: the\n"
     "operation runs at its first step (never before: one never awaited\n"
     "takes nothing), at once if it can, else in pyconc._async's\n"
     "coroutine, to which every later step goes.  Registered as a\n"
     "collections.abc.Coroutine, so that asyncio.create_task takes it.\n\n"
     "Thread safety without the GIL: used by the one task awaiting it."},
    PC_ASYNC_PY_CORO_SLOTS,
    {Py_tp_methods, pc_async_py_ready_methods},
    {0, NULL},
};

static PyType_Spec pc_async_py_ready_spec = {
    "pyconc._async._Ready", sizeof(pc_async_py_ready), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_async_py_ready_slots};

/* ------------------------------------------------- the channel's methods */

/* recv_async(timeout=None) */
static PyObject *pc_async_py_recv_async(pc_chan_py_handle *self, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *a[1] = {NULL};
    int64_t ns;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL)) {
        if (pc_py_parse_args("recv_async", args, nargs, kwnames, names, 1, 0, a) < 0 ||
            pc_py_timeout_ns(a[0], &ns) < 0)
            return NULL;
        if (a[0] == Py_None)
            a[0] = NULL;
    }
    return pc_async_py_ready_make((PyObject *)self, a[0], NULL, PC_ASYNC_PY_RECV);
}

/* send_async(value, timeout=None) */
static PyObject *pc_async_py_send_async(pc_chan_py_handle *self, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"value", "timeout"};
    PyObject *a[2] = {NULL, NULL};
    int64_t ns;
    if (PC_LIKELY(nargs == 1 && kwnames == NULL)) {
        a[0] = args[0];
    } else {
        if (pc_py_parse_args("send_async", args, nargs, kwnames, names, 2, 1, a) < 0 ||
            pc_py_timeout_ns(a[1], &ns) < 0)
            return NULL;
        if (a[1] == Py_None)
            a[1] = NULL;
    }
    return pc_async_py_ready_make((PyObject *)self, a[0], a[1], PC_ASYNC_PY_SEND);
}

static PyObject *pc_async_py_aiter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *pc_async_py_anext(PyObject *self)
{
    return pc_async_py_ready_make(self, NULL, NULL, PC_ASYNC_PY_ANEXT);
}

static PyObject *pc_async_py_anext_m(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pc_async_py_anext(self);
}

static PyObject *pc_async_py_self_aiter(PyObject *self)
{
    return Py_NewRef(self);
}

/* Is there something for a channel's receiver: a value (maybe half
 * pushed), no sender, or a close?  As pc_chan.c's check. */
static bool pc_async_py_rx_ready(pc_chan_t *c)
{
    /* seq_cst loads (pc_chan_rx_ready): after the fence of the arm
     * (pc_async_list_add). */
    return pc_chan_rx_ready(c);
}

/* Room for a sender (or closed): a hint for waking another sender. */
static bool pc_async_py_tx_ready(pc_chan_t *c)
{
    return c->kind == PC_CHAN_UNBOUNDED || pc_chan_tx_ready(c, -1);
}

/*
 * Receiver._async_arm(hub, future) -> waiter.  The re-check that completes
 * the Dekker pattern is made here, on the variables a push changes with
 * a seq_cst read-modify-write (the queue's producer end: pc_async_py_rx_ready),
 * not by the caller's try_recv, which reads what a push publishes with a
 * release store only (a store that may still sit in the sender's store
 * buffer when the sender loads `waiting`).  Something there: the waiter
 * fires itself, as the sender would have, and the coroutine's next try
 * finds it.
 */
static PyObject *pc_async_py_rx_arm(pc_chan_py_handle *self, PyObject *const *args,
                                    Py_ssize_t nargs)
{
    pc_async_py_waiter *w;
    pc_chan_t *c = self->chan;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_async_arm(hub, future)");
        return NULL;
    }
    w = (pc_async_py_waiter *)pc_async_py_arm(&c->async_rx, (PyObject *)self, args[0],
                                              args[1], NULL);
    if (w != NULL && pc_async_py_rx_ready(c) && pc_async_list_remove(&c->async_rx, &w->rec))
        pc_async_hub_fire(w->rec.hub, &w->rec); /* the list's reference goes along */
    return (PyObject *)w;
}

/* Sender._async_arm(hub, future) -> waiter: as a waiting thread does, raise
 * tx_flag so that the receiver's pops call pc_chan_wake_tx's slow branch. */
static PyObject *pc_async_py_tx_arm(pc_chan_py_handle *self, PyObject *const *args,
                                    Py_ssize_t nargs)
{
    PyObject *w;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_async_arm(hub, future)");
        return NULL;
    }
    w = pc_async_py_arm(&self->chan->async_tx, (PyObject *)self, args[0], args[1], NULL);
    /* acq_rel: as in pc_chan_send_wait (the caller's re-try follows). */
    if (w != NULL)
        atomic_exchange_explicit(&self->chan->tx_flag, 1, memory_order_acq_rel);
    return w;
}

/* Receiver._async_chain(): a coroutine took a value, or leaves with a
 * wake-up it did not use: if another is registered and something is
 * there, wake it. */
static PyObject *pc_async_py_rx_chain(pc_chan_py_handle *self, PyObject *unused)
{
    pc_chan_t *c = self->chan;
    (void)unused;
    if (pc_async_waiting(&c->async_rx) != 0 && pc_async_py_rx_ready(c))
        (void)pc_async_list_wake(&c->async_rx, 1);
    Py_RETURN_NONE;
}

static PyObject *pc_async_py_tx_chain(pc_chan_py_handle *self, PyObject *unused)
{
    pc_chan_t *c = self->chan;
    (void)unused;
    if (pc_async_waiting(&c->async_tx) != 0 && pc_async_py_tx_ready(c))
        (void)pc_async_list_wake(&c->async_tx, 1);
    Py_RETURN_NONE;
}

/* Receiver._async_waiting() / Sender._async_waiting() -> int (tests). */
static PyObject *pc_async_py_rx_waiting(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(pc_async_waiting(&self->chan->async_rx));
}

static PyObject *pc_async_py_tx_waiting(pc_chan_py_handle *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(pc_async_waiting(&self->chan->async_tx));
}

/*
 * Sender._async_try_send(value, pos) -> int: one step of send_async's
 * slow path, never waiting.  pos -1: not queued yet; >= 0 (rendezvous):
 * the position where the value waits for the receiver.  Returns -2 when
 * the send is done, -1 to wait for room, or the position to wait on.
 * Raises SendError (the value in .value) if the Receiver is closed (a
 * rendezvous value queued is taken back first; if it was received just
 * before, the send is done), HandleClosed if this Sender is.
 */
static PyObject *pc_async_py_try_send(pc_chan_py_handle *self, PyObject *const *args,
                                      Py_ssize_t nargs)
{
    pc_chan_t *c = self->chan;
    PyObject *value;
    long long pos;
    uint64_t at = 0;
    int r;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_async_try_send(value, pos)");
        return NULL;
    }
    value = args[0];
    pos = PyLong_AsLongLong(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (pos < 0) {
        if (!pc_chan_py_sender_open(self))
            return NULL;
        Py_INCREF(value); /* the queue's reference */
        r = pc_chan_trysend(c, value, &at);
        if (r != PC_CHAN_OK) {
            Py_DECREF(value);
            if (r == PC_CHAN_FULL)
                return PyLong_FromLong(-1);
            if (r == PC_CHAN_NOMEM)
                return PyErr_NoMemory();
            return pc_chan_py_send_failed(PC_CLOSED, value, "send_async", 0);
        }
        if (c->kind != PC_CHAN_RENDEZVOUS)
            return PyLong_FromLong(-2);
        pos = (long long)at;
    }
    if (pc_chan_delivered(c, (uint64_t)pos))
        return PyLong_FromLong(-2);
    /* relaxed: rx_close's store is seq_cst and followed by a notify. */
    if (atomic_load_explicit(&c->rx_closed, memory_order_relaxed)) {
        if (!pc_chan_retract(c, (uint64_t)pos))
            return PyLong_FromLong(-2); /* taken before the close */
        Py_DECREF(value); /* the queue's reference, given back */
        return pc_chan_py_send_failed(PC_CLOSED, value, "send_async", 0);
    }
    return PyLong_FromLongLong(pos);
}

/* Sender._async_retract(value, pos) -> bool: take back a rendezvous value
 * queued at pos; False if the receiver took it first (the send is done). */
static PyObject *pc_async_py_retract(pc_chan_py_handle *self, PyObject *const *args,
                                     Py_ssize_t nargs)
{
    long long pos;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_async_retract(value, pos)");
        return NULL;
    }
    pos = PyLong_AsLongLong(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    if (pos < 0 || pc_chan_delivered(self->chan, (uint64_t)pos) ||
        !pc_chan_retract(self->chan, (uint64_t)pos))
        Py_RETURN_FALSE;
    Py_DECREF(args[0]); /* the queue's reference, given back */
    Py_RETURN_TRUE;
}

static PyMethodDef pc_async_py_rx_methods[] = {
    {"recv_async", (PyCFunction)(void (*)(void))pc_async_py_recv_async,
     METH_FASTCALL | METH_KEYWORDS,
     "recv_async($self, /, timeout=None)\n--\n\n"
     "await recv_async(timeout=None) -> value\n\n"
     "recv for asyncio: never blocks the event loop and takes no thread.  A\n"
     "value already queued is returned at once; otherwise the coroutine\n"
     "sleeps until a send (from any thread) or a disconnect wakes it through\n"
     "its event loop.  With a timeout (seconds), raises Timeout when it runs\n"
     "out.  Raises Disconnected once every Sender is gone and nothing is\n"
     "left, HandleClosed if this Receiver is closed.  Cancelling the await\n"
     "(task.cancel(), asyncio.wait_for) at any point loses no value: a value\n"
     "is taken only when the coroutine resumes, and never by an awaitable\n"
     "that is not awaited.  Any number of coroutines may await one channel."},
    {"__aiter__", (PyCFunction)pc_async_py_aiter, METH_NOARGS,
     "__aiter__($self, /)\n--\n\nReturn self: `async for value in rx`."},
    {"__anext__", (PyCFunction)pc_async_py_anext_m, METH_NOARGS,
     "__anext__($self, /)\n--\n\n`async for value in rx`: recv_async until "
     "disconnected."},
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_py_rx_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nrecv_async's piece: register a waiter."},
    {"_async_chain", (PyCFunction)pc_async_py_rx_chain, METH_NOARGS,
     "_async_chain($self, /)\n--\n\nrecv_async's piece: pass a wake-up on."},
    {"_async_waiting", (PyCFunction)pc_async_py_rx_waiting, METH_NOARGS,
     "_async_waiting($self, /)\n--\n\nCoroutines registered now (a snapshot)."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef pc_async_py_tx_methods[] = {
    {"send_async", (PyCFunction)(void (*)(void))pc_async_py_send_async,
     METH_FASTCALL | METH_KEYWORDS,
     "send_async($self, /, value, timeout=None)\n--\n\n"
     "await send_async(value, timeout=None) -> None\n\n"
     "send for asyncio, without a thread: on channel() it sends at once; on\n"
     "sync_channel(n) it waits while the channel is full, on sync_channel(0)\n"
     "until the Receiver has taken the value, the coroutine sleeping until a\n"
     "receive (from any thread) wakes it through its event loop.  With a\n"
     "timeout (seconds), raises Timeout (the value in .value, not sent) when\n"
     "it runs out; SendError (the value in .value) if the Receiver is closed.\n"
     "Cancelling the await loses nothing and sends nothing twice: the value\n"
     "is either sent or, when the cancellation propagates, not sent (on\n"
     "sync_channel(0) it is taken back; if the Receiver took it just before,\n"
     "the send is done and send_async returns normally)."},
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_py_tx_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nsend_async's piece: register a waiter."},
    {"_async_chain", (PyCFunction)pc_async_py_tx_chain, METH_NOARGS,
     "_async_chain($self, /)\n--\n\nsend_async's piece: pass a wake-up on."},
    {"_async_waiting", (PyCFunction)pc_async_py_tx_waiting, METH_NOARGS,
     "_async_waiting($self, /)\n--\n\nCoroutines registered now (a snapshot)."},
    {"_async_try_send", (PyCFunction)(void (*)(void))pc_async_py_try_send, METH_FASTCALL,
     "_async_try_send($self, value, pos, /)\n--\n\nsend_async's piece: one try."},
    {"_async_retract", (PyCFunction)(void (*)(void))pc_async_py_retract, METH_FASTCALL,
     "_async_retract($self, value, pos, /)\n--\n\nsend_async's piece: take a value back."},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------ broadcast's methods */

/* BroadcastReceiver._async_arm(hub, future) -> waiter: registered in the
 * state's list, counted in async_waiters (after the add, so that a send
 * that sees the count finds the waiter in the list). */
static PyObject *pc_async_py_bcast_arm(pc_bcast_py_handle *self, PyObject *const *args,
                                       Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_async_arm(hub, future)");
        return NULL;
    }
    return pc_async_py_arm(&self->st->async_rx, (PyObject *)self->st, args[0], args[1],
                           &self->st->b);
}

static PyMethodDef pc_async_py_bcast_rx_methods[] = {
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_py_bcast_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nrecv_async's piece: register a waiter."},
    {NULL, NULL, 0, NULL},
};

/* ----------------------------------------------------------------- init */

/* _async_setup(recv_slow, anext_slow, send_slow): pyconc/_async.py's
 * coroutine functions, once. */
static PyObject *pc_async_py_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "_async_setup(recv_slow, anext_slow, send_slow, acquire_slow, AGAIN, "
                        "condvar_wait, barrier_wait, bcast_closed)");
        return NULL;
    }
    Py_XSETREF(pc_async_py_recv_slow, Py_NewRef(args[0]));
    Py_XSETREF(pc_async_py_anext_slow, Py_NewRef(args[1]));
    Py_XSETREF(pc_async_py_send_slow, Py_NewRef(args[2]));
    Py_XSETREF(pc_async_py_acquire_slow, Py_NewRef(args[3]));
    Py_XSETREF(pc_async_py_again, Py_NewRef(args[4]));
    Py_XSETREF(pc_async_py_condvar_wait, Py_NewRef(args[5]));
    Py_XSETREF(pc_async_py_barrier_wait, Py_NewRef(args[6]));
    Py_XSETREF(pc_async_py_bcast_closed, Py_NewRef(args[7]));
    Py_RETURN_NONE;
}

static PyMethodDef pc_async_py_functions[] = {
    {"_async_setup", (PyCFunction)(void (*)(void))pc_async_py_setup, METH_FASTCALL,
     "_async_setup(recv_slow, anext_slow, send_slow, acquire_slow, AGAIN,\n"
     "             condvar_wait, barrier_wait, bcast_closed, /)\n--\n\n"
     "pyconc._async hands C its slow paths (once, at import)."},
    {NULL, NULL, 0, NULL},
};

/* Add C methods to a type made by another family (its dict, then
 * PyType_Modified), so that those families' tables stay as they are. */
static int pc_async_py_extend(PyTypeObject *tp, PyMethodDef *defs)
{
    for (; defs->ml_name != NULL; defs++) {
        PyObject *d = PyDescr_NewMethod(tp, defs);
        int r;
        if (d == NULL)
            return -1;
        r = PyDict_SetItemString(tp->tp_dict, defs->ml_name, d);
        Py_DECREF(d);
        if (r < 0)
            return -1;
    }
    PyType_Modified(tp);
    return 0;
}

static int pc_async_py_init(PyObject *m)
{
    if ((pc_async_py_str_done = PyUnicode_InternFromString("done")) == NULL ||
        (pc_async_py_str_set_result = PyUnicode_InternFromString("set_result")) == NULL ||
        (pc_async_py_str_await = PyUnicode_InternFromString("__await__")) == NULL)
        return -1;
    if ((pc_async_py_Hub = pc_py_add_type(m, &pc_async_py_hub_spec)) == NULL ||
        (pc_async_py_Waiter = pc_py_add_type(m, &pc_async_py_waiter_spec)) == NULL ||
        (pc_async_py_Ready = pc_py_add_type(m, &pc_async_py_ready_spec)) == NULL ||
        (pc_async_py_List = pc_py_add_type(m, &pc_async_py_list_spec)) == NULL)
        return -1;
    if (PyModule_AddFunctions(m, pc_async_py_functions) < 0 ||
        PyModule_AddIntConstant(m, "ASYNC_FD_EVENTFD", PC_ASYNC_FD_EVENTFD) < 0 ||
        PyModule_AddIntConstant(m, "ASYNC_FD_PIPE", PC_ASYNC_FD_PIPE) < 0 ||
        PyModule_AddIntConstant(m, "ASYNC_FD_SOCKET", PC_ASYNC_FD_SOCKET) < 0)
        return -1;
    /* The channel's and broadcast's types exist (their families come
     * first in pc_py_families). */
    if (pc_async_py_extend(pc_chan_py_Receiver, pc_async_py_rx_methods) < 0 ||
        pc_async_py_extend(pc_chan_py_Sender, pc_async_py_tx_methods) < 0 ||
        pc_async_py_extend(pc_bcast_py_Receiver, pc_async_py_bcast_rx_methods) < 0)
        return -1;
    /* `async for` straight to C: the heap type's own slots. */
    pc_chan_py_Receiver->tp_as_async->am_aiter = pc_async_py_self_aiter;
    pc_chan_py_Receiver->tp_as_async->am_anext = pc_async_py_anext;
    PyType_Modified(pc_chan_py_Receiver);
    return 0;
}

#endif /* PC_ASYNC_PY_H */
