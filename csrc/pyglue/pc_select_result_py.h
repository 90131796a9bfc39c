/*
 * pyglue/pc_select_result_py.h - pyconc.Selected, the result of a select
 * (pc_select_py.h, which includes this file).
 *
 * A tuple subclass of two items, (index, value), so that `index, value =
 * pyconc.select(...)` unpacks it and it compares equal to the tuple; the
 * third field, error, sits in a hidden slot after them (as CPython's
 * struct sequences keep their named-only fields), read through the
 * `error` attribute.  Not a struct sequence: on 3.11 PyStructSequence_New
 * and its dealloc look their sizes up in the type's dict by name, which
 * cost more than the whole receive.  Built only here (no __new__), so
 * every instance has the hidden slot.  A GC type, like tuple, but
 * untracked when neither the value nor the error can be part of a cycle.
 * Immutable once built: nothing needs protecting without the GIL.
 */
#ifndef PC_SELECT_RESULT_PY_H
#define PC_SELECT_RESULT_PY_H

static PyTypeObject *pc_select_py_Selected;

#define PC_SELECT_PY_ITEMS(o) (((PyTupleObject *)(o))->ob_item)

/* A free list of Selected shells, as CPython keeps for tuples: a select's
 * result is almost always dropped before the next select, so its memory
 * is used again without a trip through the allocator and the collector's
 * lists (about 170 instructions of a select's 700, measured with
 * callgrind).  A shell on the list is untracked, holds no items and keeps
 * its reference to the type.  Only with the GIL (the list is unguarded
 * global state) and where _Py_NewReference, which revives a shell as
 * tuple's free list does, is in the headers (3.10 to 3.13); elsewhere
 * every result is allocated. */
#if !defined(Py_GIL_DISABLED) && PY_VERSION_HEX < 0x030E0000
#define PC_SELECT_PY_FREE_MAX 8
static PyObject *pc_select_py_free[PC_SELECT_PY_FREE_MAX];
static int pc_select_py_nfree;
#endif

/* Selected(index, value, error): steals value and error (either may be
 * NULL: None). */
static PyObject *pc_select_py_result(Py_ssize_t index, PyObject *value, PyObject *error)
{
    PyObject *r, *i = PyLong_FromSsize_t(index);
    if (i == NULL)
        goto fail;
#ifdef PC_SELECT_PY_FREE_MAX
    if (pc_select_py_nfree > 0) {
        r = pc_select_py_free[--pc_select_py_nfree];
        _Py_NewReference(r);
    } else
#endif
    {
        if ((r = pc_select_py_Selected->tp_alloc(pc_select_py_Selected, 3)) == NULL)
            goto fail;
        PyObject_GC_UnTrack(r); /* tracked below, if a cycle can pass through it */
        Py_SET_SIZE(r, 2);      /* the third item is the hidden error */
    }
    PC_SELECT_PY_ITEMS(r)[0] = i;
    PC_SELECT_PY_ITEMS(r)[1] = value != NULL ? value : Py_NewRef(Py_None);
    PC_SELECT_PY_ITEMS(r)[2] = error != NULL ? error : Py_NewRef(Py_None);
    if (PyObject_IS_GC(PC_SELECT_PY_ITEMS(r)[1]) || PyObject_IS_GC(PC_SELECT_PY_ITEMS(r)[2]))
        PyObject_GC_Track(r);
    return r;
fail:
    Py_XDECREF(i);
    Py_XDECREF(value);
    Py_XDECREF(error);
    return NULL;
}

static void pc_select_py_selected_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (PyObject_GC_IsTracked(self))
        PyObject_GC_UnTrack(self);
    for (int k = 0; k < 3; k++)
        Py_CLEAR(PC_SELECT_PY_ITEMS(self)[k]);
#ifdef PC_SELECT_PY_FREE_MAX
    if (pc_select_py_nfree < PC_SELECT_PY_FREE_MAX) {
        pc_select_py_free[pc_select_py_nfree++] = self;
        return;
    }
#endif
    tp->tp_free(self);
    Py_DECREF(tp);
}

static int pc_select_py_selected_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    for (int k = 0; k < 3; k++)
        Py_VISIT(PC_SELECT_PY_ITEMS(self)[k]);
    return 0;
}

static PyObject *pc_select_py_selected_get(PyObject *self, void *k)
{
    return Py_NewRef(PC_SELECT_PY_ITEMS(self)[(intptr_t)k]);
}

static PyObject *pc_select_py_selected_repr(PyObject *self)
{
    PyObject *error = PC_SELECT_PY_ITEMS(self)[2];
    if (error == Py_None)
        return PyUnicode_FromFormat("pyconc.Selected(index=%R, value=%R)",
                                    PC_SELECT_PY_ITEMS(self)[0], PC_SELECT_PY_ITEMS(self)[1]);
    return PyUnicode_FromFormat("pyconc.Selected(index=%R, value=%R, error=%R)",
                                PC_SELECT_PY_ITEMS(self)[0], PC_SELECT_PY_ITEMS(self)[1],
                                error);
}

static PyObject *pc_select_py_selected_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    PyErr_Format(PyExc_TypeError,
                 "cannot create '%.100s' instances: pyconc.select() and "
                 "Select.select() return them",
                 type->tp_name);
    return NULL;
}

static PyGetSetDef pc_select_py_selected_getset[] = {
    {"index", pc_select_py_selected_get, NULL,
     "The index of the operation that completed, in the order given.", (void *)0},
    {"value", pc_select_py_selected_get, NULL,
     "The value received (None for a send, or when .error is set).", (void *)1},
    {"error", pc_select_py_selected_get, NULL,
     "None, or the exception the operation completed with: Disconnected (a\n"
     "receive on a channel whose senders are all gone and which is empty),\n"
     "SendError (a send to a channel whose receivers are all closed; the\n"
     "value in its .value).",
     (void *)2},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot pc_select_py_selected_slots[] = {
    {Py_tp_doc,
     "Selected(index, value): the operation a select completed.\n\n"
     "A tuple of two, so that `index, value = pyconc.select(...)` unpacks it,\n"
     "with .index, .value and .error: None, or the exception the operation\n"
     "completed with (Disconnected for a receive on a disconnected, empty\n"
     "channel; SendError for a send whose channel's receivers are all\n"
     "closed, with the value in its .value).  Check .error when an operation\n"
     "may meet a disconnection.\n\n"
     "Immutable: nothing to protect without the GIL."},
    {Py_tp_dealloc, (void *)pc_select_py_selected_dealloc},
    {Py_tp_traverse, (void *)pc_select_py_selected_traverse},
    {Py_tp_repr, (void *)pc_select_py_selected_repr},
    {Py_tp_getset, pc_select_py_selected_getset},
    {Py_tp_new, (void *)pc_select_py_selected_new},
    {0, NULL},
};

static PyType_Spec pc_select_py_selected_spec = {
    "pyconc.Selected", 0, 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    pc_select_py_selected_slots};

/* Create pyconc._core.Selected (the select family's init). */
static int pc_select_py_result_init(PyObject *m)
{
    PyObject *tp = PyType_FromSpecWithBases(&pc_select_py_selected_spec,
                                            (PyObject *)&PyTuple_Type);
    if (tp == NULL)
        return -1;
    if (PyModule_AddObject(m, "Selected", tp) < 0) {
        Py_DECREF(tp);
        return -1;
    }
    pc_select_py_Selected = (PyTypeObject *)tp;
    return 0;
}

#endif /* PC_SELECT_RESULT_PY_H */
