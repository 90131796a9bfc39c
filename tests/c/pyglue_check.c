#include "pyconc.h"
#include "pyglue/pc_py_module.h"
int pc_py_check_init(PyObject *m);
int pc_py_check_init(PyObject *m) { return pc_py_module_init(m); }
