"""Build glue only: the compiled core is described in ffibuild/build.py,
the long description for PyPI in ffibuild/readme.py."""

import importlib.util
from pathlib import Path

from setuptools import setup

_ROOT = Path(__file__).resolve().parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_pyconc_{name}", _ROOT / "ffibuild" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


setup(
    cffi_modules=["ffibuild/build.py:ffibuilder"],
    cmdclass={"build_ext": _load("build").BuildExt},
    long_description=_load("readme").pypi_readme(_ROOT),
    long_description_content_type="text/markdown",
)
