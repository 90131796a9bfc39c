/*
 * pyglue/pc_async_wait_py.h - asyncio waits that are not acquires:
 * Condvar.wait*_async(), Barrier.wait_async(), and the broadcast
 * Sender's wait_closed() / wait_closed_async() (included by
 * pc_py_module.h after pc_async_lock_py.h, whose arm and timeout helpers
 * it uses).
 *
 * Each is a coroutine of pyconc/_async.py (condvar_wait, barrier_wait,
 * bcast_closed) over small C pieces: an arm that registers a waiter in
 * the primitive's list (made on first use, pc_async.h) before the
 * re-check, and the re-check itself.  None has a C fast path: a Condvar
 * wait always waits, a Barrier's arrival must happen at the first step,
 * not at the call.
 *
 * What protects the state without the GIL: the primitives' atomics and the
 * lists' spin locks.
 */
#ifndef PC_ASYNC_WAIT_PY_H
#define PC_ASYNC_WAIT_PY_H

/* -------------------------------------------------------------- Condvar */

/* Condvar._async_begin(guard, hub, future) -> (waiter, mutex): the first
 * half of wait_async.  The waiter is registered before the mutex is
 * unlocked, so a notify made after the unlock (by a notifier that changed
 * the condition under the mutex, or after it) fires it.  The guard is
 * marked released while the coroutine waits (using it raises), and held
 * again by _async_relock. */
static PyObject *pc_async_lock_py_cv_begin(PyObject *self, PyObject *const *args,
                                           Py_ssize_t nargs)
{
    pc_condvar_py_t *cv = (pc_condvar_py_t *)self;
    pc_mutex_py_t *m;
    PyObject *w, *r;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "_async_begin(guard, hub, future)");
        return NULL;
    }
    if ((m = pc_condvar_py_check(cv, args[0])) == NULL)
        return NULL;
    if ((w = pc_async_lock_py_arm(&cv->cv.async, self, args + 1, 2)) == NULL)
        return NULL;
    if ((r = PyTuple_Pack(2, w, (PyObject *)m)) == NULL) {
        /* Nothing unlocked yet: take the waiter out again. */
        PyObject *d = pc_async_py_waiter_disarm((pc_async_py_waiter *)w, NULL);
        Py_XDECREF(d);
        Py_DECREF(w);
        return NULL;
    }
    Py_DECREF(w);
    (void)pc_mutex_py_guard_take((pc_mutex_py_guard_t *)args[0], PC_MUTEX_PY_RELEASED);
    (void)pc_condvar_unlock_prepare(&cv->cv, &m->lock);
    return r;
}

/* Condvar._async_relock(guard) -> guard, or AGAIN: re-take the guard's
 * mutex into the same guard (marking the lock CONTENDED if it is held and
 * coroutines wait, as Mutex._async_try).  PoisonError holding the guard
 * if poisoned meanwhile; RuntimeError (the guard marked lost) if
 * retired. */
static PyObject *pc_async_lock_py_cv_relock(PyObject *self, PyObject *guard)
{
    pc_mutex_py_guard_t *g = (pc_mutex_py_guard_t *)guard;
    pc_mutex_py_t *m;
    int r;
    (void)self;
    if (!Py_IS_TYPE(guard, pc_mutex_py_guard_type) || (m = g->mutex) == NULL) {
        PyErr_SetString(PyExc_TypeError, "_async_relock(guard)");
        return NULL;
    }
    r = pc_mutex_trylock_async(&m->lock);
    if (r == PC_MUTEX_BUSY) {
        if (!pc_mutex_py_is_retired(m))
            return Py_NewRef(pc_async_py_again);
        (void)pc_mutex_py_guard_take(g, PC_MUTEX_PY_LOST);
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
        return NULL;
    }
    (void)pc_mutex_py_guard_take(g, PC_MUTEX_PY_HELD);
    if (r == PC_MUTEX_POISONED) {
        pc_py_raise_value(PC_POISONED, guard, "Mutex poisoned while waiting on a Condvar");
        return NULL;
    }
    return Py_NewRef(guard);
}

/* Condvar._async_pass(): a coroutine notified but leaving unnotified
 * (cancelled) passes the notification on, to a thread or a coroutine. */
static PyObject *pc_async_lock_py_cv_pass(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_condvar_notify_one(&((pc_condvar_py_t *)self)->cv);
    Py_RETURN_NONE;
}

/* The wait_*_async methods: pyconc._async.condvar_wait(cv, guard,
 * timeout, predicate, pair), a coroutine (a Condvar wait always waits, so
 * there is no C fast path to take).  The arguments are checked now. */
static PyObject *pc_async_lock_py_cv_call(PyObject *self, PyObject *guard, PyObject *timeout,
                                          PyObject *predicate, int pair)
{
    int64_t ns;
    if (!Py_IS_TYPE(guard, pc_mutex_py_guard_type)) {
        PyErr_Format(PyExc_TypeError,
                     "Condvar waits take a MutexGuard (from Mutex.lock_async()), not %.100s",
                     Py_TYPE(guard)->tp_name);
        return NULL;
    }
    if (timeout != NULL && pc_py_timeout_ns(timeout, &ns) < 0)
        return NULL;
    if (predicate != NULL && !PyCallable_Check(predicate)) {
        PyErr_Format(PyExc_TypeError, "predicate must be callable, not %.100s",
                     Py_TYPE(predicate)->tp_name);
        return NULL;
    }
    return PyObject_CallFunctionObjArgs(pc_async_py_condvar_wait, self, guard,
                                        timeout != NULL ? timeout : Py_None,
                                        predicate != NULL ? predicate : Py_None,
                                        pair ? Py_True : Py_False, NULL);
}

static PyObject *pc_async_lock_py_cv_wait(PyObject *self, PyObject *guard)
{
    return pc_async_lock_py_cv_call(self, guard, NULL, NULL, 0);
}

static PyObject *pc_async_lock_py_cv_wait_n(PyObject *self, PyObject *const *args,
                                            Py_ssize_t nargs, const char *name, int timed,
                                            int pred)
{
    if (nargs != 1 + timed + pred) {
        PyErr_Format(PyExc_TypeError, "%s() takes %d positional arguments", name,
                     (int)(1 + timed + pred));
        return NULL;
    }
    return pc_async_lock_py_cv_call(self, args[0], timed ? args[1] : NULL,
                                    pred ? args[1 + timed] : NULL, timed);
}

static PyObject *pc_async_lock_py_cv_wait_while(PyObject *self, PyObject *const *args,
                                                Py_ssize_t nargs)
{
    return pc_async_lock_py_cv_wait_n(self, args, nargs, "wait_while_async", 0, 1);
}

static PyObject *pc_async_lock_py_cv_wait_timeout(PyObject *self, PyObject *const *args,
                                                  Py_ssize_t nargs)
{
    return pc_async_lock_py_cv_wait_n(self, args, nargs, "wait_timeout_async", 1, 0);
}

static PyObject *pc_async_lock_py_cv_wait_timeout_while(PyObject *self,
                                                        PyObject *const *args,
                                                        Py_ssize_t nargs)
{
    return pc_async_lock_py_cv_wait_n(self, args, nargs, "wait_timeout_while_async", 1, 1);
}

static PyMethodDef pc_async_lock_py_cv_methods[] = {
    {"wait_async", pc_async_lock_py_cv_wait, METH_O,
     "wait_async($self, guard, /)\n--\n\n"
     "Condvar.wait() for a coroutine: unlock the guard's mutex (its guard\n"
     "from Mutex.lock_async() or lock()), wait until notified without\n"
     "blocking the event loop, re-take the mutex (waiting as lock_async)\n"
     "and return the guard.  May return spuriously.  notify_one() and\n"
     "notify_all() wake threads and coroutines alike.  Cancelled, it\n"
     "re-takes the mutex before the CancelledError propagates (as\n"
     "asyncio.Condition.wait) and passes on a notification it received."},
    {"wait_while_async", (PyCFunction)(void (*)(void))pc_async_lock_py_cv_wait_while,
     METH_FASTCALL,
     "wait_while_async($self, guard, predicate, /)\n--\n\n"
     "wait_while() for a coroutine: wait while ``predicate(value)`` is true;\n"
     "returns the guard."},
    {"wait_timeout_async", (PyCFunction)(void (*)(void))pc_async_lock_py_cv_wait_timeout,
     METH_FASTCALL,
     "wait_timeout_async($self, guard, timeout, /)\n--\n\n"
     "wait_timeout() for a coroutine: returns (guard, timed_out)."},
    {"wait_timeout_while_async",
     (PyCFunction)(void (*)(void))pc_async_lock_py_cv_wait_timeout_while, METH_FASTCALL,
     "wait_timeout_while_async($self, guard, timeout, predicate, /)\n--\n\n"
     "wait_timeout_while() for a coroutine: returns (guard, timed_out),\n"
     "timed_out true if the predicate still holds when the time is up."},
    {"_async_begin", (PyCFunction)(void (*)(void))pc_async_lock_py_cv_begin, METH_FASTCALL,
     "_async_begin($self, guard, hub, future, /)\n--\n\n"
     "wait_async's piece: register, then unlock the guard's mutex."},
    {"_async_relock", pc_async_lock_py_cv_relock, METH_O,
     "_async_relock($self, guard, /)\n--\n\nwait_async's piece: the guard again, or AGAIN."},
    {"_async_pass", pc_async_lock_py_cv_pass, METH_NOARGS,
     "_async_pass($self, /)\n--\n\nwait_async's piece: pass an unused notification on."},
    {NULL, NULL, 0, NULL},
};

/* -------------------------------------------------------------- Barrier */

/* Barrier.wait_async() -> pyconc._async.barrier_wait(b), a coroutine: the
 * arrival happens at its first step (one never awaited does not arrive). */
static PyObject *pc_async_lock_py_barrier_wait(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyObject_CallOneArg(pc_async_py_barrier_wait, self);
}

/* _async_arrive() -> True (the leader: the round is complete, everybody
 * woken) or the round to wait for (an int). */
static PyObject *pc_async_lock_py_barrier_arrive(PyObject *self, PyObject *unused)
{
    int64_t r = pc_barrier_arrive(&((pc_barrier_py_t *)self)->b);
    (void)unused;
    if (r == PC_BARRIER_LEADER)
        Py_RETURN_TRUE;
    return PyLong_FromLongLong(r);
}

static int pc_async_lock_py_round(PyObject *arg, uint32_t *round)
{
    unsigned long v = PyLong_AsUnsignedLong(arg);
    if (v == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    *round = (uint32_t)v;
    return 0;
}

/* _async_passed(round) -> False, or AGAIN (wait_for's attempt). */
static PyObject *pc_async_lock_py_barrier_passed(PyObject *self, PyObject *arg)
{
    uint32_t round;
    if (pc_async_lock_py_round(arg, &round) < 0)
        return NULL;
    if (pc_barrier_passed(&((pc_barrier_py_t *)self)->b, round))
        Py_RETURN_FALSE;
    return Py_NewRef(pc_async_py_again);
}

/* _async_leave(round) -> bool: take the arrival back (a cancelled wait);
 * False if the round completed meanwhile (the arrival counted). */
static PyObject *pc_async_lock_py_barrier_leave(PyObject *self, PyObject *arg)
{
    uint32_t round;
    if (pc_async_lock_py_round(arg, &round) < 0)
        return NULL;
    return PyBool_FromLong(pc_barrier_leave(&((pc_barrier_py_t *)self)->b, round));
}

static PyObject *pc_async_lock_py_barrier_arm(PyObject *self, PyObject *const *args,
                                              Py_ssize_t nargs)
{
    PyObject *w = pc_async_lock_py_arm(&((pc_barrier_py_t *)self)->b.async, self, args, nargs);
    /* seq_cst: the registration is ordered before the re-check of
     * `rounds` (the waiter's half of the Dekker pair). */
    PC_FENCE_SEQ_CST();
    return w;
}

static PyMethodDef pc_async_lock_py_barrier_methods[] = {
    {"wait_async", pc_async_lock_py_barrier_wait, METH_NOARGS,
     "wait_async($self, /)\n--\n\n"
     "Barrier.wait() for a coroutine: arrive, wait without blocking the\n"
     "event loop until *n* threads or coroutines have arrived, then return\n"
     "True in exactly one of them (the leader) and False in the others.\n"
     "Cancelled before the round completes, it takes its arrival back (as\n"
     "an interrupted wait() does)."},
    {"_async_arrive", pc_async_lock_py_barrier_arrive, METH_NOARGS,
     "_async_arrive($self, /)\n--\n\nwait_async's piece: True (leader) or the round."},
    {"_async_passed", pc_async_lock_py_barrier_passed, METH_O,
     "_async_passed($self, round, /)\n--\n\nwait_async's piece: False, or AGAIN."},
    {"_async_leave", pc_async_lock_py_barrier_leave, METH_O,
     "_async_leave($self, round, /)\n--\n\nwait_async's piece: take the arrival back."},
    {"_async_arm", (PyCFunction)(void (*)(void))pc_async_lock_py_barrier_arm, METH_FASTCALL,
     "_async_arm($self, hub, future, /)\n--\n\nwait_async's piece: register a waiter."},
    {NULL, NULL, 0, NULL},
};

/* -------------------------------------- broadcast Sender.wait_closed() */

static pc_status pc_async_lock_py_closed_try(void *b)
{
    return pc_bcast_no_receivers((pc_bcast_t *)b) ? PC_OK : PC_AGAIN;
}

static pc_status pc_async_lock_py_closed_park(void *b, int64_t slice_ns)
{
    return pc_bcast_wait_closed((pc_bcast_t *)b, slice_ns) ? PC_OK : PC_AGAIN;
}

/* wait_closed(timeout=None): wait until every receiver is gone. */
static PyObject *pc_async_lock_py_closed(PyObject *self, PyObject *const *args,
                                         Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *a[1] = {NULL};
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if ((nargs != 0 || kwnames != NULL) &&
        (pc_py_parse_args("wait_closed", args, nargs, kwnames, names, 1, 0, a) < 0 ||
         pc_py_timeout_ns(a[0], &ns) < 0))
        return NULL;
    st = pc_py_wait(&((pc_bcast_py_handle *)self)->st->b, pc_async_lock_py_closed_try,
                    pc_async_lock_py_closed_park, ns, 1);
    if (st == PC_OK)
        Py_RETURN_NONE;
    if (st == PC_TIMEOUT) {
        PyErr_Format(pc_py_exc[PC_TIMEOUT], "wait_closed() timed out after %R s", a[0]);
        return NULL;
    }
    return pc_py_raise(st, NULL);
}

/* wait_closed_async(timeout=None) -> pyconc._async.bcast_closed(tx, timeout). */
static PyObject *pc_async_lock_py_closed_async(PyObject *self, PyObject *const *args,
                                               Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *timeout;
    if (pc_async_lock_py_timeout("wait_closed_async", args, nargs, kwnames, &timeout) < 0)
        return NULL;
    return PyObject_CallFunctionObjArgs(pc_async_py_bcast_closed, self,
                                        timeout ? timeout : Py_None, NULL);
}

/* _closed_try() -> None, or AGAIN. */
static PyObject *pc_async_lock_py_closed_try_m(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (pc_bcast_no_receivers(&((pc_bcast_py_handle *)self)->st->b))
        Py_RETURN_NONE;
    return Py_NewRef(pc_async_py_again);
}

static PyObject *pc_async_lock_py_closed_arm(PyObject *self, PyObject *const *args,
                                             Py_ssize_t nargs)
{
    pc_bcast_py_state *st = ((pc_bcast_py_handle *)self)->st;
    PyObject *w = pc_async_lock_py_arm(&st->b.closed_async, (PyObject *)st, args, nargs);
    /* seq_cst: the registration before the re-check of the count. */
    PC_FENCE_SEQ_CST();
    return w;
}

static PyMethodDef pc_async_lock_py_bcast_tx_methods[] = {
    {"wait_closed", (PyCFunction)(void (*)(void))pc_async_lock_py_closed,
     METH_FASTCALL | METH_KEYWORDS,
     "wait_closed($self, /, timeout=None)\n--\n\n"
     "Wait until every receiver is gone (dropped, closed or left its with\n"
     "block): tokio's Sender::closed(), named as asyncio's\n"
     "StreamWriter.wait_closed() (a bare closed() reads as a flag in\n"
     "Python).  Returns at once if there is none.\n"
     "With *timeout* (seconds), raise pyconc.Timeout if some are still\n"
     "there after that long.  The wait releases the GIL and lets Ctrl-C\n"
     "through."},
    {"wait_closed_async", (PyCFunction)(void (*)(void))pc_async_lock_py_closed_async,
     METH_FASTCALL | METH_KEYWORDS,
     "wait_closed_async($self, /, timeout=None)\n--\n\n"
     "wait_closed() for a coroutine: ``await tx.wait_closed_async()``, without blocking\n"
     "the event loop or taking a thread."},
    {"_closed_try", pc_async_lock_py_closed_try_m, METH_NOARGS,
     "_closed_try($self, /)\n--\n\nwait_closed_async's piece: None, or AGAIN."},
    {"_closed_arm", (PyCFunction)(void (*)(void))pc_async_lock_py_closed_arm, METH_FASTCALL,
     "_closed_arm($self, hub, future, /)\n--\n\nwait_closed_async's piece: register a waiter."},
    {NULL, NULL, 0, NULL},
};

/* ----------------------------------------------------------------- init */

static int pc_async_wait_py_init(PyObject *m)
{
    (void)m;
    if (pc_async_py_extend(pc_condvar_py_type, pc_async_lock_py_cv_methods) < 0 ||
        pc_async_py_extend(pc_barrier_py_type, pc_async_lock_py_barrier_methods) < 0 ||
        pc_async_py_extend(pc_bcast_py_Sender, pc_async_lock_py_bcast_tx_methods) < 0)
        return -1;
    return 0;
}

#endif /* PC_ASYNC_WAIT_PY_H */
