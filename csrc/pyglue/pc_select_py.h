/*
 * pyglue/pc_select_py.h - pyconc.select(), pyconc.Select and
 * pyconc.Selected: waiting on several channels at once (crossbeam's
 * Select, Go's select), as C types (included by pc_py_module.h only, after
 * pc_chan_py.h, whose handles and pops it uses).
 *
 * An operation is a receive on a Receiver (any channel: channel(),
 * sync_channel(n), sync_channel(0)) or a send of a value through a Sender
 * of channel() or sync_channel(n >= 1).  A select is pc_py_wait (pc_py.h)
 * over two halves:
 *   try   (with the GIL) the operations in turn from a random start
 *         (pc_select_start: fair when several are ready); the first that
 *         completes is the result: a value popped, a value queued, or a
 *         receive on a disconnected channel / a send to a closed one,
 *         which completes with that error (crossbeam: a selected recv
 *         returns Err(RecvError));
 *   park  (without the GIL) pc_select_wait: one waiter registered with
 *         every channel, the thread parked on one word, woken by the
 *         first event on any of them (pc_select.h).
 * The park takes nothing, so a Ctrl-C (pc_py_wait runs the handlers
 * between slices) or a timeout leaves every channel as it was, and a value
 * another thread takes first is simply not there for the next try.  A
 * select leaving with a wake-up it did not use passes it on
 * (pc_chan_rx_pass), so other receivers of those channels are not left
 * asleep beside a value.
 *
 * The result is Selected, a struct sequence: `index, value = result`
 * unpacks the operation's index (in the order given) and the value
 * received (None for a send); result.error is None, or the exception the
 * operation completed with (Disconnected for a receive whose channel is
 * disconnected and empty, SendError with the value in .value for a send
 * whose channel's receivers are all closed).
 *
 * What protects the state without the GIL: a Select's list of operations
 * is changed and copied (with new references) inside the object's
 * critical section; a select runs on that copy.  The channels are
 * protected by their own atomics and consumer lock (pc_chan_py.h).
 */
#ifndef PC_SELECT_PY_H
#define PC_SELECT_PY_H

#include "pc_select.h"

#include "pc_select_result_py.h" /* pyconc.Selected */

/* Operations kept on the stack by one select; more are allocated. */
#define PC_SELECT_PY_STACK 8

static PyTypeObject *pc_select_py_Select;

/* One operation: a Receiver (value NULL), or a Sender and its value. */
typedef struct {
    pc_chan_py_handle *h;
    PyObject *value;
} pc_select_py_entry;

/* ------------------------------------------------------------ the engine */

typedef struct {
    pc_select_py_entry *ent;
    Py_ssize_t n;
    pc_select_op_t *ops; /* the wait's view, one per entry */
    Py_ssize_t index;    /* the operation completed */
    PyObject *value;     /* received (a new reference), or NULL */
    int disconnected;    /* it completed with the other side gone */
} pc_select_py_run;

static pc_status pc_select_py_try(void *arg)
{
    pc_select_py_run *run = (pc_select_py_run *)arg;
    Py_ssize_t n = run->n, start = (Py_ssize_t)pc_select_start((size_t)n), k;
    for (k = 0; k < n; k++) {
        Py_ssize_t i = start + k < n ? start + k : start + k - n;
        pc_select_py_entry *e = &run->ent[i];
        pc_chan_t *c = e->h->chan;
        /* relaxed: a use-after-close check (close() from another thread). */
        if (atomic_load_explicit(&e->h->closed, memory_order_relaxed)) {
            run->index = i;
            return PC_HANDLE_CLOSED;
        }
        if (e->value == NULL) {
            PyObject *v = NULL;
            pc_status st = pc_chan_py_pop(e->h, &v);
            if (st == PC_AGAIN)
                continue;
            run->index = i;
            run->value = v;
            run->disconnected = st == PC_CLOSED;
            return PC_OK;
        } else {
            int r;
            Py_INCREF(e->value); /* the queue's reference */
            r = pc_chan_trysend(c, e->value, NULL);
            if (r == PC_CHAN_OK) {
                run->index = i;
                return PC_OK;
            }
            Py_DECREF(e->value);
            if (r == PC_CHAN_FULL)
                continue;
            if (r == PC_CHAN_NOMEM)
                return PC_NOMEM;
            run->index = i;
            run->disconnected = 1;
            return PC_OK;
        }
    }
    return PC_AGAIN;
}

static pc_status pc_select_py_park(void *arg, int64_t slice_ns)
{
    pc_select_py_run *run = (pc_select_py_run *)arg;
    (void)pc_select_wait(run->ops, (size_t)run->n, slice_ns);
    return PC_AGAIN;
}

/* The end of a select whose last try gave st: the result, or the error. */
static PyObject *pc_select_py_finish(pc_select_py_entry *ent, pc_select_py_run *run,
                                     pc_status st, int64_t timeout_ns, int is_try)
{
    if (st == PC_OK) {
        PyObject *error = NULL;
        if (run->disconnected) {
            pc_select_py_entry *e = &ent[run->index];
            if (e->value == NULL)
                error = PyObject_CallFunction(pc_py_exc[PC_CLOSED], "s",
                                              pc_chan_py_msg_disconnected);
            else
                error = PyObject_CallFunction(pc_py_exc_with_value[PC_CLOSED], "Os",
                                              e->value, pc_chan_py_msg_send_closed);
            if (error == NULL)
                return NULL;
        }
        return pc_select_py_result(run->index, run->value, error);
    }
    if (st == PC_AGAIN || st == PC_TIMEOUT) {
        if (is_try)
            return pc_py_raise(PC_AGAIN, "no operation of the select was ready");
        return pc_chan_py_timed_out("select", timeout_ns, NULL);
    }
    if (st == PC_HANDLE_CLOSED) {
        PyErr_Format(pc_py_exc[PC_HANDLE_CLOSED],
                     "operation %zd of the select uses a closed %s", run->index,
                     ent[run->index].value == NULL ? "Receiver" : "Sender");
        return NULL;
    }
    return pc_py_raise(st, NULL);
}

static int pc_select_py_nonempty(Py_ssize_t n)
{
    if (n > 0)
        return 1;
    PyErr_SetString(PyExc_ValueError,
                    "select needs at least one operation (a Receiver, or a "
                    "(Sender, value) pair)");
    return 0;
}

/* try_select: one try of ent[0..n), never waits. */
static PyObject *pc_select_py_try_ops(pc_select_py_entry *ent, Py_ssize_t n)
{
    pc_select_py_run run = {ent, n, NULL, -1, NULL, 0};
    if (!pc_select_py_nonempty(n))
        return NULL;
    return pc_select_py_finish(ent, &run, pc_select_py_try(&run), 0, 1);
}

/* A select over ent[0..n), waiting at most timeout_ns (0: try once). */
static PyObject *pc_select_py_wait_ops(pc_select_py_entry *ent, Py_ssize_t n,
                                       int64_t timeout_ns)
{
    pc_select_op_t stack[PC_SELECT_PY_STACK], *ops = stack;
    pc_select_py_run run = {ent, n, NULL, -1, NULL, 0};
    pc_status st;
    Py_ssize_t i;

    if (!pc_select_py_nonempty(n))
        return NULL;
    st = pc_select_py_try(&run);
    if (st == PC_OK && !run.disconnected)
        return pc_select_py_result(run.index, run.value, NULL);
    if (st != PC_AGAIN || timeout_ns == 0)
        return pc_select_py_finish(ent, &run, st, timeout_ns, 0);
    if (n > PC_SELECT_PY_STACK) {
        ops = (pc_select_op_t *)PyMem_Malloc((size_t)n * sizeof *ops);
        if (ops == NULL)
            return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        ops[i].chan = ent[i].h->chan;
        ops[i].is_send = ent[i].value != NULL;
        /* relaxed: a hint (sync_channel(0)'s try_send sees a receiver). */
        if (!ops[i].is_send)
            atomic_fetch_add_explicit(&ops[i].chan->rx_waiting, 1, memory_order_relaxed);
    }
    run.ops = ops;
    st = pc_py_wait(&run, pc_select_py_try, pc_select_py_park, timeout_ns, 1);
    for (i = 0; i < n; i++)
        if (!ops[i].is_send)
            atomic_fetch_sub_explicit(&ops[i].chan->rx_waiting, 1, memory_order_relaxed);
    if (ops != stack)
        PyMem_Free(ops);
    /* Having waited, pass on the wake-ups we may have taken from the
     * other receive channels (pc_select.h). */
    for (i = 0; i < n; i++)
        if (ent[i].value == NULL && i != run.index)
            pc_chan_rx_pass(ent[i].h->chan);
    return pc_select_py_finish(ent, &run, st, timeout_ns, 0);
}

/* Check one operation: a Receiver, or a Sender that may take part in a
 * select.  0, or -1 with TypeError/ValueError set. */
static int pc_select_py_check(PyObject *handle, PyObject *value, Py_ssize_t index)
{
    if (value == NULL) {
        if (Py_IS_TYPE(handle, pc_chan_py_Receiver))
            return 0;
        PyErr_Format(PyExc_TypeError,
                     "select operation %zd must be a Receiver (a receive) or a "
                     "(Sender, value) pair (a send), not %.100s",
                     index, Py_TYPE(handle)->tp_name);
        return -1;
    }
    if (!Py_IS_TYPE(handle, pc_chan_py_Sender)) {
        PyErr_Format(PyExc_TypeError,
                     "select operation %zd: a send needs a Sender, not %.100s", index,
                     Py_TYPE(handle)->tp_name);
        return -1;
    }
    if (((pc_chan_py_handle *)handle)->chan->kind == PC_CHAN_RENDEZVOUS) {
        PyErr_Format(PyExc_ValueError,
                     "select operation %zd: a send on sync_channel(0) cannot take "
                     "part in a select (its hand-over needs the sender to wait); "
                     "use sync_channel(1) or more",
                     index);
        return -1;
    }
    return 0;
}

/* pyconc.select(*ops, timeout=None) */
static PyObject *pc_select_py_select(PyObject *module, PyObject *const *args,
                                     Py_ssize_t nargs, PyObject *kwnames)
{
    pc_select_py_entry stack[PC_SELECT_PY_STACK], *ent = stack;
    int64_t ns = PC_PY_FOREVER;
    PyObject *res;
    Py_ssize_t i;
    (void)module;
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        if (nkw != 1 ||
            PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "timeout") != 0) {
            PyErr_SetString(PyExc_TypeError,
                            "select() takes operations by position and only "
                            "'timeout' by keyword");
            return NULL;
        }
        if (pc_py_timeout_ns(args[nargs], &ns) < 0)
            return NULL;
    }
    if (nargs > PC_SELECT_PY_STACK) {
        ent = (pc_select_py_entry *)PyMem_Malloc((size_t)nargs * sizeof *ent);
        if (ent == NULL)
            return PyErr_NoMemory();
    }
    for (i = 0; i < nargs; i++) {
        PyObject *op = args[i], *handle = op, *value = NULL;
        if (PyTuple_Check(op)) {
            if (PyTuple_GET_SIZE(op) != 2) {
                PyErr_Format(PyExc_TypeError,
                             "select operation %zd: a send is a (Sender, value) pair", i);
                goto fail;
            }
            handle = PyTuple_GET_ITEM(op, 0);
            value = PyTuple_GET_ITEM(op, 1);
        }
        if (pc_select_py_check(handle, value, i) < 0)
            goto fail;
        /* borrowed: the arguments live as long as the call */
        ent[i].h = (pc_chan_py_handle *)handle;
        ent[i].value = value;
    }
    res = pc_select_py_wait_ops(ent, nargs, ns);
    if (ent != stack)
        PyMem_Free(ent);
    return res;
fail:
    if (ent != stack)
        PyMem_Free(ent);
    return NULL;
}

/* ------------------------------------------------------------ the builder */

typedef struct {
    PyObject_HEAD
    pc_select_py_entry *ent; /* strong references */
    Py_ssize_t n, cap;
    PyObject *weakrefs;
} pc_select_py_obj;

static PyObject *pc_select_py_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    pc_select_py_obj *self;
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Select() takes no arguments");
        return NULL;
    }
    self = (pc_select_py_obj *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->ent = NULL;
    self->n = self->cap = 0;
    self->weakrefs = NULL;
    return (PyObject *)self;
}

static int pc_select_py_traverse(pc_select_py_obj *self, visitproc visit, void *arg)
{
    Py_ssize_t i;
    Py_VISIT(Py_TYPE(self));
    for (i = 0; i < self->n; i++) {
        Py_VISIT((PyObject *)self->ent[i].h);
        Py_VISIT(self->ent[i].value);
    }
    return 0;
}

static int pc_select_py_clear(pc_select_py_obj *self)
{
    pc_select_py_entry *ent;
    Py_ssize_t n, i;
    PC_PY_BEGIN_CRITICAL(self);
    ent = self->ent;
    n = self->n;
    self->ent = NULL;
    self->n = self->cap = 0;
    PC_PY_END_CRITICAL();
    for (i = 0; i < n; i++) {
        Py_DECREF((PyObject *)ent[i].h);
        Py_XDECREF(ent[i].value);
    }
    PyMem_Free(ent);
    return 0;
}

static void pc_select_py_dealloc(pc_select_py_obj *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    pc_select_py_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Append an operation; its index, or -1 with an error set. */
static Py_ssize_t pc_select_py_add(pc_select_py_obj *self, PyObject *handle, PyObject *value)
{
    Py_ssize_t index = -1;
    if (pc_select_py_check(handle, value, self->n) < 0)
        return -1;
    PC_PY_BEGIN_CRITICAL(self);
    if (self->n == self->cap) {
        Py_ssize_t ncap = self->cap ? self->cap * 2 : 4;
        pc_select_py_entry *nent = (pc_select_py_entry *)PyMem_Realloc(
            self->ent, (size_t)ncap * sizeof *nent);
        if (nent != NULL) {
            self->ent = nent;
            self->cap = ncap;
        }
    }
    if (self->n < self->cap) {
        self->ent[self->n].h = (pc_chan_py_handle *)Py_NewRef(handle);
        self->ent[self->n].value = Py_XNewRef(value);
        index = self->n++;
    }
    PC_PY_END_CRITICAL();
    if (index < 0)
        PyErr_NoMemory();
    return index;
}

static PyObject *pc_select_py_recv(pc_select_py_obj *self, PyObject *rx)
{
    Py_ssize_t i = pc_select_py_add(self, rx, NULL);
    return i < 0 ? NULL : PyLong_FromSsize_t(i);
}

static PyObject *pc_select_py_send(pc_select_py_obj *self, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"sender", "value"};
    PyObject *a[2];
    Py_ssize_t i;
    if (pc_py_parse_args("send", args, nargs, kwnames, names, 2, 2, a) < 0)
        return NULL;
    i = pc_select_py_add(self, a[0], a[1]);
    return i < 0 ? NULL : PyLong_FromSsize_t(i);
}

/* A copy of the operations (new references) into *ent (stack, if they
 * fit); the count, or -1 with MemoryError set. */
static Py_ssize_t pc_select_py_copy(pc_select_py_obj *self, pc_select_py_entry *stack,
                                    pc_select_py_entry **ent)
{
    Py_ssize_t n, i;
    PC_PY_BEGIN_CRITICAL(self);
    n = self->n;
    *ent = stack;
    if (n > PC_SELECT_PY_STACK)
        *ent = (pc_select_py_entry *)PyMem_Malloc((size_t)n * sizeof **ent);
    if (*ent == NULL) {
        n = -1;
    } else {
        for (i = 0; i < n; i++) {
            (*ent)[i].h = (pc_chan_py_handle *)Py_NewRef((PyObject *)self->ent[i].h);
            (*ent)[i].value = Py_XNewRef(self->ent[i].value);
        }
    }
    PC_PY_END_CRITICAL();
    if (n < 0)
        PyErr_NoMemory();
    return n;
}

static void pc_select_py_uncopy(pc_select_py_entry *ent, Py_ssize_t n,
                                pc_select_py_entry *stack)
{
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        Py_DECREF((PyObject *)ent[i].h);
        Py_XDECREF(ent[i].value);
    }
    if (ent != stack)
        PyMem_Free(ent);
}

/* The common case of select() and try_select(), without copying the
 * list: one try on the list itself, inside the critical section.  The try
 * calls no Python code (a value taken or queued has its reference counted;
 * a failed send's decref is not the last, the list holds the value), so
 * nothing can change the list under it.  Returns the result of a plain
 * completion; NULL with no error set when the select must wait or its
 * operation completed with an error (building either needs the list: the
 * caller runs it again on a copy); NULL with an error set on failure. */
static PyObject *pc_select_py_try_in_place(pc_select_py_obj *self)
{
    pc_select_py_run run = {NULL, 0, NULL, -1, NULL, 0};
    pc_status st;
    PC_PY_BEGIN_CRITICAL(self);
    run.ent = self->ent;
    run.n = self->n;
    st = run.n > 0 ? pc_select_py_try(&run) : PC_AGAIN;
    PC_PY_END_CRITICAL();
    if (st == PC_OK && !run.disconnected)
        return pc_select_py_result(run.index, run.value, NULL);
    return NULL;
}

static PyObject *pc_select_py_select_m(pc_select_py_obj *self, PyObject *const *args,
                                       Py_ssize_t nargs, PyObject *kwnames)
{
    pc_select_py_entry stack[PC_SELECT_PY_STACK], *ent;
    PyObject *t = NULL, *res;
    int64_t ns = PC_PY_FOREVER;
    Py_ssize_t n;
    if ((nargs != 0 || kwnames != NULL) &&
        (pc_py_one_arg(args, nargs, kwnames, "select", "timeout", 0, &t) < 0 ||
         pc_py_timeout_ns(t, &ns) < 0))
        return NULL;
    if ((res = pc_select_py_try_in_place(self)) != NULL || PyErr_Occurred())
        return res;
    if ((n = pc_select_py_copy(self, stack, &ent)) < 0)
        return NULL;
    res = pc_select_py_wait_ops(ent, n, ns);
    pc_select_py_uncopy(ent, n, stack);
    return res;
}

static PyObject *pc_select_py_try_select(pc_select_py_obj *self, PyObject *unused)
{
    pc_select_py_entry stack[PC_SELECT_PY_STACK], *ent;
    PyObject *res;
    Py_ssize_t n;
    (void)unused;
    if ((res = pc_select_py_try_in_place(self)) != NULL || PyErr_Occurred())
        return res;
    if ((n = pc_select_py_copy(self, stack, &ent)) < 0)
        return NULL;
    res = pc_select_py_try_ops(ent, n);
    pc_select_py_uncopy(ent, n, stack);
    return res;
}

static Py_ssize_t pc_select_py_len(pc_select_py_obj *self)
{
    Py_ssize_t n;
    PC_PY_BEGIN_CRITICAL(self);
    n = self->n;
    PC_PY_END_CRITICAL();
    return n;
}

static PyObject *pc_select_py_repr(pc_select_py_obj *self)
{
    return PyUnicode_FromFormat("<pyconc.Select of %zd operation(s)>",
                                pc_select_py_len(self));
}

static PyMethodDef pc_select_py_methods[] = {
    {"recv", (PyCFunction)pc_select_py_recv, METH_O,
     "recv($self, receiver, /)\n--\n\nrecv(receiver) -> int\n\n"
     "Add a receive on receiver (any channel's Receiver); returns the\n"
     "operation's index, which select() reports when it completes."},
    {"send", (PyCFunction)(void (*)(void))pc_select_py_send, METH_FASTCALL | METH_KEYWORDS,
     "send($self, /, sender, value)\n--\n\nsend(sender, value) -> int\n\n"
     "Add a send of value through sender (channel() or sync_channel(n),\n"
     "n >= 1; sync_channel(0) cannot take part); returns its index."},
    {"select", (PyCFunction)(void (*)(void))pc_select_py_select_m,
     METH_FASTCALL | METH_KEYWORDS,
     "select($self, /, timeout=None)\n--\n\nselect(timeout=None) -> Selected\n\n"
     "Complete exactly one of the operations, waiting until one can: with no\n"
     "limit when timeout is None, else at most timeout seconds, then raise\n"
     "Timeout (nothing was done).  When several are ready, one is chosen at\n"
     "random.  Returns Selected(index, value, error); see pyconc.Selected.\n"
     "Waiting releases the GIL and lets Ctrl-C through (KeyboardInterrupt:\n"
     "nothing was done).  Raises HandleClosed if one of the handles is\n"
     "closed."},
    {"try_select", (PyCFunction)pc_select_py_try_select, METH_NOARGS,
     "try_select($self, /)\n--\n\ntry_select() -> Selected\n\n"
     "As select, but never waits: raises WouldBlock if no operation is ready."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL},
};

static PyMemberDef pc_select_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_select_py_obj, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot pc_select_py_slots[] = {
    {Py_tp_doc,
     "Select()\n--\n\nA builder of a select over several channels (crossbeam's\n"
     "Select).\n\n"
     "    sel = pyconc.Select()\n"
     "    i = sel.recv(rx)          # a receive\n"
     "    j = sel.send(tx, value)   # a send (bounded or unbounded channel)\n"
     "    op = sel.select(timeout=None)   # or sel.try_select()\n"
     "    if op.index == i: ... op.value ...\n\n"
     "Each call of select() completes exactly one operation (Selected:\n"
     "index, value, error) and may be repeated; it waits in C on every\n"
     "channel at once.  pyconc.select(*ops, timeout=None) is the same in one\n"
     "call.\n\n"
     "Thread safety without the GIL: the list of operations is changed and\n"
     "copied inside the object's critical section; the channels have their\n"
     "own atomics."},
    {Py_tp_new, (void *)pc_select_py_new},
    {Py_tp_dealloc, (void *)pc_select_py_dealloc},
    {Py_tp_traverse, (void *)pc_select_py_traverse},
    {Py_tp_clear, (void *)pc_select_py_clear},
    {Py_tp_repr, (void *)pc_select_py_repr},
    {Py_tp_methods, pc_select_py_methods},
    {Py_tp_members, pc_select_py_members},
    {Py_sq_length, (void *)pc_select_py_len},
    {0, NULL},
};

static PyType_Spec pc_select_py_spec = {
    "pyconc.Select", sizeof(pc_select_py_obj), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_select_py_slots};

static PyMethodDef pc_select_py_functions[] = {
    {"select", (PyCFunction)(void (*)(void))pc_select_py_select,
     METH_FASTCALL | METH_KEYWORDS,
     "select(*ops, timeout=None)\n--\n\nselect(*ops, timeout=None) -> Selected\n\n"
     "Wait on several channels at once and complete exactly one operation\n"
     "(crossbeam's select!, Go's select).  Each op is a Receiver (receive a\n"
     "value) or a (Sender, value) pair (send value; channel() or\n"
     "sync_channel(n), n >= 1).  Returns Selected(index, value, error):\n"
     "`index, value = pyconc.select(rx1, rx2)`.  When several are ready one\n"
     "is chosen at random (fair).  A receive on a disconnected, empty\n"
     "channel completes with .error a Disconnected; a send to a channel\n"
     "whose receivers are all closed with .error a SendError.  Waits with no\n"
     "limit when timeout is None, else at most timeout seconds, then raises\n"
     "Timeout (timeout=0: try once).  Waiting releases the GIL and lets\n"
     "Ctrl-C through (KeyboardInterrupt: nothing was done)."},
    {NULL, NULL, 0, NULL},
};

/* The family's init (pc_py_module.h): Selected, Select, select. */
static int pc_select_py_init(PyObject *m)
{
    if (pc_select_py_result_init(m) < 0)
        return -1;
    if ((pc_select_py_Select = pc_py_add_type(m, &pc_select_py_spec)) == NULL)
        return -1;
    return PyModule_AddFunctions(m, pc_select_py_functions);
}

#endif /* PC_SELECT_PY_H */
