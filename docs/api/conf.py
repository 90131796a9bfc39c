"""Sphinx configuration of pyconc's API reference (``make docs``).

Built from the installed package's docstrings (autodoc), warning-free:
``make docs`` runs sphinx-build with ``-W --keep-going`` and .ci/run runs
``make docs``.  tests/test_docs.py checks that every public name has its
page entry.
"""

import pyconc

project = "pyconc"
author = "pyconc developers"
copyright = "pyconc developers"
release = version = pyconc.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest"]
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
# The docstrings start with the signature, as CPython's own do.
autodoc_docstring_signature = True
autodoc_typehints = "signature"
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
# Cross-references to Python's own library render as plain text (no
# intersphinx: the build runs without network).
nitpicky = False


import re  # noqa: E402

# The docstrings are plain text as CPython's are, read as reStructuredText
# here: a star-argument in running text (``select(*ops, timeout=None)``)
# would open an emphasis that never closes.
_STAR_ARG = re.compile(r"(?<![*\w`\\])(\*{1,2})(?=\w+[,)])")


def _plain_stars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        lines[i] = _STAR_ARG.sub(lambda m: "\\*" * len(m.group(1)), line)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_stars)
