/*
 * pyglue/pc_select_result_py.h - pyconc.Selected, the result of a select
 * (pc_select_py.h, which includes this file): a struct sequence
 * (index, value) with a third, named-only field, error.  No method; never
 * releases the GIL.  Immutable once built, so nothing needs protecting
 * without the GIL.
 */
#ifndef PC_SELECT_RESULT_PY_H
#define PC_SELECT_RESULT_PY_H

static PyTypeObject *pc_select_py_Selected;

/* ------------------------------------------------------------ the result */

static PyStructSequence_Field pc_select_py_selected_fields[] = {
    {"index", "the index of the operation that completed, in the order given"},
    {"value", "the value received (None for a send, or when .error is set)"},
    {"error", "None, or the exception the operation completed with: "
              "Disconnected (a receive on a channel whose senders are all gone "
              "and which is empty), SendError (a send to a channel whose "
              "receivers are all closed; the value in .value)"},
    {NULL, NULL},
};

static PyStructSequence_Desc pc_select_py_selected_desc = {
    "pyconc.Selected",
    "Selected(index, value, error): the operation a select completed.\n\n"
    "A sequence of two, so that `index, value = pyconc.select(...)` unpacks\n"
    "it; .error is None, or the exception the operation completed with\n"
    "(Disconnected for a receive on a disconnected, empty channel; SendError\n"
    "for a send whose channel's receivers are all closed, with the value in\n"
    "its .value).  Check it when an operation may meet a disconnection.",
    pc_select_py_selected_fields,
    2,
};

static PyObject *pc_select_py_result(Py_ssize_t index, PyObject *value, PyObject *error)
{
    PyObject *r = PyStructSequence_New(pc_select_py_Selected), *i;
    if (r == NULL) {
        Py_XDECREF(value);
        Py_XDECREF(error);
        return NULL;
    }
    i = PyLong_FromSsize_t(index);
    if (i == NULL) {
        Py_DECREF(r);
        Py_XDECREF(value);
        Py_XDECREF(error);
        return NULL;
    }
    PyStructSequence_SET_ITEM(r, 0, i);
    PyStructSequence_SET_ITEM(r, 1, value != NULL ? value : Py_NewRef(Py_None));
    PyStructSequence_SET_ITEM(r, 2, error != NULL ? error : Py_NewRef(Py_None));
    return r;
}

/* Create pyconc._core.Selected (the select family's init). */
static int pc_select_py_result_init(PyObject *m)
{
    pc_select_py_Selected = PyStructSequence_NewType(&pc_select_py_selected_desc);
    if (pc_select_py_Selected == NULL)
        return -1;
    if (PyModule_AddObject(m, "Selected", Py_NewRef((PyObject *)pc_select_py_Selected)) < 0) {
        Py_DECREF(pc_select_py_Selected);
        return -1;
    }
    return 0;
}

#endif /* PC_SELECT_RESULT_PY_H */
