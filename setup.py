"""Build glue only: the compiled core is described in build.py."""

import importlib.util
from pathlib import Path

from setuptools import setup

_spec = importlib.util.spec_from_file_location(
    "_pyconc_build", Path(__file__).resolve().parent / "build.py"
)
_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_build)

setup(
    cffi_modules=["build.py:ffibuilder"],
    cmdclass={"build_ext": _build.BuildExt},
)
