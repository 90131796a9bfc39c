/*
 * pyglue/pc_bcast_py.h - the broadcast channel's send as one C call
 * (CPython C API; included by build.py's preamble only).
 *
 * A send stores the pair (pos, value) in the ring (a Python list) under
 * the senders' lock of pc_bcast.h.  Doing it here instead of in Python
 * makes a send one call instead of two, and leaves no point between
 * taking and releasing the lock where the interpreter could raise
 * KeyboardInterrupt (which would leave the lock taken).
 *
 * pc_bcast_py_install() (cdef/sync_fast.h, called once by
 * pyconc/broadcast.py) adds to pyconc._core:
 *   bcast_send(addr, ring, value) -> int
 *     n >= 0                 sent; n receivers (+ PC_BCAST_PY_ASYNC when
 *                            asyncio receivers wait: the caller wakes them)
 *     PC_BCAST_BUSY          another sender holds the lock: nothing done
 *     PC_BCAST_NO_RECEIVERS  nothing done
 *
 * The value the slot held before is released only after the lock is: its
 * finaliser may run Python code, even a send on this channel.
 *
 * Without the GIL (Py_GIL_DISABLED): the slot is replaced with
 * PyList_SetItem, which takes the list's lock, and the old item is kept
 * alive by a reference taken with PyList_GetItemRef until after the
 * unlock.
 */
#ifndef PC_BCAST_PY_H
#define PC_BCAST_PY_H

#include "pc_bcast.h"

#define PC_BCAST_PY_ASYNC ((int64_t)1 << 32)

static PyObject *pc_bcast_py_send(PyObject *self, PyObject *const *args,
                                  Py_ssize_t nargs)
{
    pc_bcast_t *b;
    PyObject *ring, *item, *old, *num;
    Py_ssize_t cap, i;
    int64_t pos, n;
    (void)self;
    if (nargs != 3 || !PyList_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "bcast_send(addr, ring: list, value)");
        return NULL;
    }
    b = (pc_bcast_t *)PyLong_AsVoidPtr(args[0]);
    if (b == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "null channel address");
        return NULL;
    }
    ring = args[1];
    cap = PyList_GET_SIZE(ring);
    if (cap <= 0) {
        PyErr_SetString(PyExc_ValueError, "empty ring");
        return NULL;
    }
    /* Everything that can fail comes before the lock: the pair is made
     * with a placeholder position, filled in under the lock. */
    item = PyTuple_New(2);
    if (item == NULL)
        return NULL;
    Py_INCREF(args[2]);
    PyTuple_SET_ITEM(item, 1, args[2]);
    pos = pc_bcast_send_begin(b);
    if (pos < 0) {
        Py_DECREF(item);
        return PyLong_FromLongLong(pos);
    }
    num = PyLong_FromLongLong(pos);
    if (num == NULL) {
        /* Not published: the tail does not move. */
        pc_spin_unlock(&b->lock, false);
        Py_DECREF(item);
        return NULL;
    }
    PyTuple_SET_ITEM(item, 0, num);
    i = (Py_ssize_t)(pos % cap);
#ifdef Py_GIL_DISABLED
    old = PyList_GetItemRef(ring, i);
    if (old == NULL || PyList_SetItem(ring, i, item) < 0) {
        pc_spin_unlock(&b->lock, false);
        Py_XDECREF(old);
        return NULL;
    }
#else
    old = PyList_GET_ITEM(ring, i); /* its reference is now ours */
    PyList_SET_ITEM(ring, i, item);
#endif
    n = pc_bcast_send_end(b, (uint64_t)pos);
    Py_XDECREF(old); /* after the unlock (see above) */
    if (n < 0)
        n = ~n + PC_BCAST_PY_ASYNC;
    return PyLong_FromLongLong(n);
}

static PyMethodDef pc_bcast_py_functions[] = {
    {"bcast_send", (PyCFunction)(void (*)(void))pc_bcast_py_send, METH_FASTCALL,
     NULL},
    {NULL, NULL, 0, NULL}};

/* Add the functions to pyconc._core.  0, or -1 with an exception set. */
static int pc_bcast_py_install(void)
{
    PyObject *m = PyImport_AddModule("pyconc._core"); /* borrowed */
    PyMethodDef *def;
    if (m == NULL)
        return -1;
    if (PyObject_HasAttrString(m, "bcast_send"))
        return 0;
    for (def = pc_bcast_py_functions; def->ml_name != NULL; def++) {
        PyObject *f = PyCFunction_New(def, NULL);
        if (f == NULL || PyModule_AddObject(m, def->ml_name, f) < 0) {
            Py_XDECREF(f);
            return -1;
        }
    }
    return 0;
}

#endif /* PC_BCAST_PY_H */
