/*
 * pyglue/pc_async_lock_py.h - asyncio-aware acquires: Mutex.lock_async(),
 * RwLock.read_async()/write_async(), Semaphore.acquire_async() (included by
 * pc_py_module.h after pc_async_py.h, whose awaitable and waiters it
 * uses, and after the lock families, whose types it extends).
 *
 * An acquire is an _Acquire: pc_async_py.h's _Ready in mode
 * PC_ASYNC_PY_ACQUIRE, a coroutine whose first step tries the lock in C
 * (one call, no Python frame: `async with m.lock_async() as g:` on a free
 * mutex costs two C calls and no frame) and, if it cannot, hands over to
 * pyconc/_async.py's acquire_slow, which waits as recv_async does: a
 * waiter registered in the primitive's list (made on first use,
 * pc_async.h), fired by whatever thread releases, through the loop's
 * descriptor.  Never a thread per waiter, never a blocked loop, and the
 * same lock word as the threads' lock(), so coroutines and threads share
 * one lock.  The waits that are not acquires (Condvar, Barrier, broadcast
 * wait_closed) are in pc_async_wait_py.h.  _Acquire is also the async context manager:
 * __aenter__ is the acquire, __aexit__ the guard's __exit__ (which does
 * not wait: it returns a finished awaitable).
 *
 * What protects the state without the GIL: the primitives' own atomics
 * and the lists' spin locks; an _Acquire belongs to the task awaiting it.
 */
#ifndef PC_ASYNC_LOCK_PY_H
#define PC_ASYNC_LOCK_PY_H

/* What acquire_slow (pyconc/_async.py) acquires: which methods it calls. */
enum {
    PC_ASYNC_LOCK_PY_MUTEX = 0,
    PC_ASYNC_LOCK_PY_SEM = 1,
    PC_ASYNC_LOCK_PY_CONDVAR = 2,
    PC_ASYNC_LOCK_PY_READ = 3,
    PC_ASYNC_LOCK_PY_WRITE = 4
};

static PyTypeObject *pc_async_lock_py_Acquire;
static PyTypeObject *pc_async_lock_py_Done;
static PyObject *pc_async_lock_py_done; /* the one _Done */
static PyObject *pc_async_lock_py_str_exit;

/* ---------------------------------------------------------------- _Done */

/* An awaitable that is finished before it starts: what __aexit__ returns
 * (the release does not wait).  Stateless, so one serves every await. */
static PySendResult pc_async_lock_py_done_send(PyObject *self, PyObject *arg,
                                               PyObject **result)
{
    (void)self;
    (void)arg;
    *result = Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

static PyObject *pc_async_lock_py_done_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *pc_async_lock_py_done_next(PyObject *self)
{
    (void)self;
    return NULL; /* StopIteration(None) */
}

static PyType_Slot pc_async_lock_py_done_slots[] = {
    {Py_tp_doc, "An awaitable that is already finished (None): __aexit__'s.\n\n"
                "Stateless: nothing to protect without the GIL."},
    {Py_am_await, (void *)pc_async_lock_py_done_await},
    {Py_am_send, (void *)pc_async_lock_py_done_send},
    {Py_tp_iter, (void *)PyObject_SelfIter},
    {Py_tp_iternext, (void *)pc_async_lock_py_done_next},
    {0, NULL},
};

static PyType_Spec pc_async_lock_py_done_spec = {
    "pyconc._async._Done", sizeof(PyObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, pc_async_lock_py_done_slots};

/* ------------------------------------------------------------- _Acquire */

/* A new _Acquire of `lock`; timeout and extra (NULL: none) go to the
 * slow path. */
static PyObject *pc_async_lock_py_make(PyObject *lock, PyObject *timeout, PyObject *extra,
                                       int which, pc_async_py_try_fn try_fn)
{
    pc_async_py_ready *self = (pc_async_py_ready *)pc_async_py_ready_new(
        pc_async_lock_py_Acquire, lock, timeout, extra, PC_ASYNC_PY_ACQUIRE);
    if (self != NULL) {
        self->try_fn = try_fn;
        self->which = which;
    }
    return (PyObject *)self;
}

static PyObject *pc_async_lock_py_aenter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (((pc_async_py_ready *)self)->state != PC_ASYNC_PY_NEW) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this acquire was already awaited: use `async with` on a new one");
        return NULL;
    }
    return Py_NewRef(self);
}

/* __aexit__(*exc_info): the guard's (or permit's) __exit__ with the same
 * arguments, at once; returns a finished awaitable. */
static PyObject *pc_async_lock_py_aexit(PyObject *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    pc_async_py_ready *a = (pc_async_py_ready *)self;
    PyObject *held = a->result, *stack[4] = {NULL, Py_None, Py_None, Py_None}, *r;
    Py_ssize_t i;
    if (held == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "__aexit__ without a completed acquire");
        return NULL;
    }
    if (nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "__aexit__ takes at most 3 arguments");
        return NULL;
    }
    a->result = NULL;
    stack[0] = held;
    for (i = 0; i < nargs; i++)
        stack[i + 1] = args[i];
    r = PyObject_VectorcallMethod(pc_async_lock_py_str_exit, stack,
                                  4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(held);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    return Py_NewRef(pc_async_lock_py_done);
}

static PyMethodDef pc_async_lock_py_acquire_methods[] = {
    PC_ASYNC_PY_CORO_METHODS,
    {"__aenter__", pc_async_lock_py_aenter, METH_NOARGS,
     "__aenter__($self, /)\n--\n\nThe acquire itself: awaiting it gives the guard."},
    {"__aexit__", (PyCFunction)(void (*)(void))pc_async_lock_py_aexit, METH_FASTCALL,
     "__aexit__($self, /, *exc_info)\n--\n\n"
     "Release (the guard's __exit__: an exception poisons a poisoning lock);\n"
     "never waits."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pc_async_lock_py_acquire_slots[] = {
    {Py_tp_doc,
     "The coroutine of an asyncio acquire (Mutex.lock_async(),\n"
     "Semaphore.acquire_async(), Condvar.wait_async()), and its async\n"
     "context manager: `async with m.lock_async() as g:`, or\n"
     "`g = await m.lock_async()` then `with g:`.  The acquire runs at its\n"
     "first step (one never awaited takes nothing): at once if it can, else\n"
     "waiting without blocking the event loop until a release, by a thread\n"
     "or a coroutine, fires it.  Registered as a collections.abc.Coroutine.\n\n"
     "Thread safety without the GIL: used by the one task awaiting it."},
    PC_ASYNC_PY_CORO_SLOTS,
    {Py_tp_methods, pc_async_lock_py_acquire_methods},
    {0, NULL},
};

static PyType_Spec pc_async_lock_py_acquire_spec = {
    "pyconc._async._Acquire", sizeof(pc_async_py_ready), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_async_lock_py_acquire_slots};

/* Parse an acquire's optional timeout (checked now, so that a bad one
 * raises at the call, not at the await); *out NULL for None. */
static int pc_async_lock_py_timeout(const char *fname, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames, PyObject **out)
{
    static const char *const names[] = {"timeout"};
    PyObject *a[1] = {NULL};
    int64_t ns;
    *out = NULL;
    if (PC_LIKELY(nargs == 0 && kwnames == NULL))
        return 0;
    if (pc_py_parse_args(fname, args, nargs, kwnames, names, 1, 0, a) < 0 ||
        pc_py_timeout_ns(a[0], &ns) < 0)
        return -1;
    *out = a[0] == Py_None ? NULL : a[0];
    return 0;
}

/* The waiter of a lock's slow path: registered in the list behind slot
 * (made now if it was not). */
static PyObject *pc_async_lock_py_arm(pc_async_slot_t *slot, PyObject *holder,
                                      PyObject *const *args, Py_ssize_t nargs)
{
    pc_async_list_t *l;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_async_arm(hub, future)");
        return NULL;
    }
    if ((l = pc_async_list_get(slot)) == NULL)
        return PyErr_NoMemory();
    return pc_async_py_arm(l, holder, args[0], args[1], NULL);
}

/* ---------------------------------------------------------------- Mutex */

static int pc_async_lock_py_mutex_try(pc_async_py_ready *self, PyObject **out)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self->handle;
    switch (pc_mutex_trylock_async(&m->lock)) {
    case PC_MUTEX_OK:
        return (*out = pc_mutex_py_guard_new(m)) != NULL ? 1 : -1;
    case PC_MUTEX_POISONED:
        (void)pc_mutex_py_guard_for(m, PC_POISONED); /* PoisonError holding the guard */
        return -1;
    default:
        return 0; /* held, or retired: the slow path's try says which */
    }
}

/* lock_async(timeout=None) */
static PyObject *pc_async_lock_py_lock_async(PyObject *self, PyObject *const *args,
                                             Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *timeout;
    if (pc_async_lock_py_timeout("lock_async", args, nargs, kwnames, &timeout) < 0)
        return NULL;
    return pc_async_lock_py_make(self, timeout, NULL, PC_ASYNC_LOCK_PY_MUTEX,
                                 pc_async_lock_py_mutex_try);
}

/* Mutex._async_try() -> guard, or AGAIN (held: marked CONTENDED for the
 * holder's unlock if a coroutine is registered). */
static PyObject *pc_async_lock_py_mutex_try_m(PyObject *self, PyObject *unused)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    (void)unused;
    switch (pc_mutex_trylock_async(&m->lock)) {
    case PC_MUTEX_OK:
        return pc_mutex_py_guard_new(m);
    case PC_MUTEX_POISONED:
        return pc_mutex_py_guard_for(m, PC_POISONED);
    default:
        if (pc_mutex_py_is_retired(m)) {
            PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
            return NULL;
        }
        return Py_NewRef(pc_async_py_again);
    }
}

static PyObject *pc_async_lock_py_mutex_arm(PyObject *self, PyObject *const *args,
                                            Py_ssize_t nargs)
{
    return pc_async_lock_py_arm(&((pc_mutex_py_t *)self)->lock.async, self, args, nargs);
}

static PyObject *pc_async_lock_py_mutex_chain(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_mutex_async_chain(&((pc_mutex_py_t *)self)->lock);
    Py_RETURN_NONE;
}

static PyMethodDef pc_async_lock_py_mutex_methods[] = {
    {"lock_async", (PyCFunction)(void (*)(void))pc_async_lock_py_lock_async,
     METH_FASTCALL | METH_KEYWORDS,
     "lock_async($self, /, timeout=None)\n--\n\n"
     "Lock the mutex from a coroutine: ``async with m.lock_async() as g:``\n"
     "(or ``g = await m.lock_async()`` and then ``with g:``).  Waits, if\n"
     "the mutex is held, without blocking the event loop and without a\n"
     "thread; threads calling lock() share the same lock (the two wake each\n"
     "other), so the guard may be held across awaits while threads wait.\n"
     "With *timeout* (seconds), raise pyconc.Timeout if it is still held\n"
     "after that long.  Raises PoisonError, holding the locked guard, if\n"
     "the mutex is poisoned.  Cancelling the await leaves the mutex as it\n"
     "was (an acquire is never half done)."},
    {"_async_try", pc_async_lock_py_mutex_try_m, METH_NOARGS,
     "_async_try($self, /)\n--\n\nlock_async's piece: the guard, or AGAIN."},
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_lock_py_mutex_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nlock_async's piece: register a waiter."},
    {"_async_chain", pc_async_lock_py_mutex_chain, METH_NOARGS,
     "_async_chain($self, /)\n--\n\nlock_async's piece: pass an unused wake-up on."},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------------------ Semaphore */

/* The n of an _Acquire of permits (its `timeout` field holds it, as an
 * int checked at the call). */
static uint64_t pc_async_lock_py_sem_n(pc_async_py_ready *self)
{
    return self->timeout == NULL ? 1 : (uint64_t)PyLong_AsUnsignedLongLong(self->timeout);
}

static int pc_async_lock_py_sem_try(pc_async_py_ready *self, PyObject **out)
{
    pc_sem_py_t *sem = (pc_sem_py_t *)self->handle;
    uint64_t n = pc_async_lock_py_sem_n(self);
    if (pc_sem_try_acquire(&sem->s, n) != PC_SEM_OK)
        return 0; /* too few, or closed: the slow path's try says which */
    return (*out = pc_sem_py_permit_new(sem, n)) != NULL ? 1 : -1;
}

/* acquire_async(n=1, timeout=None) */
static PyObject *pc_async_lock_py_acquire_async(PyObject *self, PyObject *const *args,
                                                Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"n", "timeout"};
    PyObject *a[2] = {NULL, NULL}, *n = NULL, *r;
    uint64_t count = 1;
    int64_t ns;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL)) {
        if (pc_py_parse_args("acquire_async", args, nargs, kwnames, names, 2, 0, a) < 0 ||
            pc_py_timeout_ns(a[1], &ns) < 0)
            return NULL;
        if (a[0] != NULL) {
            if (pc_sem_py_count(a[0], "n", 0, &count) < 0)
                return NULL;
            if (count == 0) {
                PyErr_SetString(PyExc_ValueError, "n must be >= 1");
                return NULL;
            }
            if ((n = PyLong_FromUnsignedLongLong(count)) == NULL)
                return NULL;
        }
        if (a[1] == Py_None)
            a[1] = NULL;
    }
    r = pc_async_lock_py_make(self, a[1], n, PC_ASYNC_LOCK_PY_SEM, pc_async_lock_py_sem_try);
    Py_XDECREF(n);
    return r;
}

/* Semaphore._async_try(n) -> permit, or AGAIN; Closed if closed. */
static PyObject *pc_async_lock_py_sem_try_m(PyObject *self, PyObject *arg)
{
    pc_sem_py_t *sem = (pc_sem_py_t *)self;
    uint64_t n;
    int r;
    if (pc_sem_py_count(arg, "n", 0, &n) < 0)
        return NULL;
    r = pc_sem_try_acquire(&sem->s, n);
    if (r == PC_SEM_OK)
        return pc_sem_py_permit_new(sem, n);
    if (r == PC_SEM_CLOSED_) {
        PyErr_SetString(pc_sem_py_Closed, pc_sem_py_closed_msg);
        return NULL;
    }
    return Py_NewRef(pc_async_py_again);
}

static PyObject *pc_async_lock_py_sem_arm(PyObject *self, PyObject *const *args,
                                          Py_ssize_t nargs)
{
    pc_sem_py_t *sem = (pc_sem_py_t *)self;
    PyObject *w = pc_async_lock_py_arm(&sem->s.async, self, args, nargs);
    if (w != NULL)
        pc_sem_async_armed(&sem->s);
    return w;
}

/* A release fires every coroutine (pc_sem_wake): a wake-up is never one
 * waiter's alone, so there is nothing to pass on. */
static PyObject *pc_async_lock_py_nothing_to_chain(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_RETURN_NONE;
}

static PyMethodDef pc_async_lock_py_sem_methods[] = {
    {"acquire_async", (PyCFunction)(void (*)(void))pc_async_lock_py_acquire_async,
     METH_FASTCALL | METH_KEYWORDS,
     "acquire_async($self, /, n=1, timeout=None)\n--\n\n"
     "Take n permits from a coroutine: ``async with sem.acquire_async():``\n"
     "(or ``permit = await sem.acquire_async(n)``, a SemaphorePermit).\n"
     "Waits, while there are fewer than n, without blocking the event loop\n"
     "and without a thread; threads calling acquire() share the same\n"
     "permits.  With *timeout* (seconds), raise pyconc.Timeout if they are\n"
     "still missing after that long.  Raises Closed if the semaphore is or\n"
     "becomes closed.  Cancelling the await takes nothing."},
    {"_async_try", pc_async_lock_py_sem_try_m, METH_O,
     "_async_try($self, n, /)\n--\n\nacquire_async's piece: a permit, or AGAIN."},
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_lock_py_sem_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nacquire_async's piece: register a waiter."},
    {"_async_chain", pc_async_lock_py_nothing_to_chain, METH_NOARGS,
     "_async_chain($self, /)\n--\n\nacquire_async's piece: nothing (a release wakes all)."},
    {NULL, NULL, 0, NULL},
};

/* --------------------------------------------------------------- RwLock */

/* A guard for a coroutine's attempt that returned r (held), or NULL with
 * PoisonError (holding the guard) set. */
static PyObject *pc_async_lock_py_rw_guard(pc_rwlock_py_t *rw, int write, int r)
{
    return pc_rwlock_py_result(rw, write, pc_rwlock_py_status(r), NULL,
                               write ? "write_async" : "read_async");
}

static int pc_async_lock_py_rw_try(pc_async_py_ready *self, PyObject **out, int write)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self->handle;
    int r = write ? pc_rwlock_try_write_async(&rw->lock) : pc_rwlock_try_read_async(&rw->lock);
    if (r == PC_RWLOCK_BUSY)
        return 0;
    return (*out = pc_async_lock_py_rw_guard(rw, write, r)) != NULL ? 1 : -1;
}

static int pc_async_lock_py_read_try(pc_async_py_ready *self, PyObject **out)
{
    return pc_async_lock_py_rw_try(self, out, 0);
}

static int pc_async_lock_py_write_try(pc_async_py_ready *self, PyObject **out)
{
    return pc_async_lock_py_rw_try(self, out, 1);
}

static PyObject *pc_async_lock_py_rw_async(PyObject *self, PyObject *const *args,
                                           Py_ssize_t nargs, PyObject *kwnames, int write)
{
    PyObject *timeout;
    if (pc_async_lock_py_timeout(write ? "write_async" : "read_async", args, nargs, kwnames,
                                 &timeout) < 0)
        return NULL;
    return pc_async_lock_py_make(self, timeout, NULL,
                                 write ? PC_ASYNC_LOCK_PY_WRITE : PC_ASYNC_LOCK_PY_READ,
                                 write ? pc_async_lock_py_write_try : pc_async_lock_py_read_try);
}

static PyObject *pc_async_lock_py_read_async(PyObject *self, PyObject *const *args,
                                             Py_ssize_t nargs, PyObject *kwnames)
{
    return pc_async_lock_py_rw_async(self, args, nargs, kwnames, 0);
}

static PyObject *pc_async_lock_py_write_async(PyObject *self, PyObject *const *args,
                                              Py_ssize_t nargs, PyObject *kwnames)
{
    return pc_async_lock_py_rw_async(self, args, nargs, kwnames, 1);
}

/* RwLock._async_try(write) -> guard, or AGAIN (the waiting bit set). */
static PyObject *pc_async_lock_py_rw_try_m(PyObject *self, PyObject *arg)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    int write = PyObject_IsTrue(arg), r;
    if (write < 0)
        return NULL;
    r = write ? pc_rwlock_try_write_async(&rw->lock) : pc_rwlock_try_read_async(&rw->lock);
    if (r == PC_RWLOCK_BUSY)
        return Py_NewRef(pc_async_py_again);
    return pc_async_lock_py_rw_guard(rw, write, r);
}

static PyObject *pc_async_lock_py_rw_arm(PyObject *self, PyObject *const *args,
                                         Py_ssize_t nargs)
{
    PyObject *w = pc_async_lock_py_arm(&((pc_rwlock_py_t *)self)->lock.async, self, args, nargs);
    /* seq_cst: the registration before the re-try's read of the state
     * (the Dekker pair with pc_rwlock.c's wake_async). */
    PC_FENCE_SEQ_CST();
    return w;
}

/* A writer coroutine leaving without the lock: clear the writers' bit it
 * may have left (readers would stay blocked behind it) and wake everyone
 * to set theirs again, as a writer thread that gives up does. */
static PyObject *pc_async_lock_py_rw_abandon(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_rwlock_write_abandon(&((pc_rwlock_py_t *)self)->lock);
    Py_RETURN_NONE;
}

static PyMethodDef pc_async_lock_py_rw_methods[] = {
    {"read_async", (PyCFunction)(void (*)(void))pc_async_lock_py_read_async,
     METH_FASTCALL | METH_KEYWORDS,
     "read_async($self, /, timeout=None)\n--\n\n"
     "read() for a coroutine: ``async with rw.read_async() as g:``.  Waits,\n"
     "while a writer holds or waits for the lock, without blocking the\n"
     "event loop; threads and coroutines share the lock (writers first, as\n"
     "for threads).  Timeout and PoisonError as read()."},
    {"write_async", (PyCFunction)(void (*)(void))pc_async_lock_py_write_async,
     METH_FASTCALL | METH_KEYWORDS,
     "write_async($self, /, timeout=None)\n--\n\n"
     "write() for a coroutine: ``async with rw.write_async() as g:``; an\n"
     "exception (a cancellation too) leaving the block poisons the lock\n"
     "unless it was made with poison=False.  Timeout and PoisonError as\n"
     "write()."},
    {"_async_try", pc_async_lock_py_rw_try_m, METH_O,
     "_async_try($self, write, /)\n--\n\nread/write_async's piece: the guard, or AGAIN."},
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_lock_py_rw_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nread/write_async's piece: register a waiter."},
    {"_async_abandon", pc_async_lock_py_rw_abandon, METH_NOARGS,
     "_async_abandon($self, /)\n--\n\nwrite_async's piece: a writer gives up."},
    {NULL, NULL, 0, NULL},
};

/* ----------------------------------------------------------------- init */

static int pc_async_lock_py_init(PyObject *m)
{
    if ((pc_async_lock_py_str_exit = PyUnicode_InternFromString("__exit__")) == NULL)
        return -1;
    if ((pc_async_lock_py_Acquire = pc_py_add_type(m, &pc_async_lock_py_acquire_spec)) ==
            NULL ||
        (pc_async_lock_py_Done = pc_py_add_type(m, &pc_async_lock_py_done_spec)) == NULL)
        return -1;
    if ((pc_async_lock_py_done = PyObject_New(PyObject, pc_async_lock_py_Done)) == NULL)
        return -1;
    if (pc_async_py_extend(pc_mutex_py_type, pc_async_lock_py_mutex_methods) < 0 ||
        pc_async_py_extend(pc_sem_py_type, pc_async_lock_py_sem_methods) < 0 ||
        pc_async_py_extend(pc_rwlock_py_type, pc_async_lock_py_rw_methods) < 0)
        return -1;
    return 0;
}

#endif /* PC_ASYNC_LOCK_PY_H */
