"""The long description PyPI shows: README.md with its relative links made
absolute.

PyPI renders the README away from the repository, so ``[text](docs/x.md)``
and ``![chart](docs/x.png)`` would not resolve there.  Each relative link
becomes a link into the repository at the release's tag
(``<Source>/blob/v<version>/<path>``, images through
``raw.githubusercontent.com``), read from ``[project.urls] Source`` and
``version`` in pyproject.toml, so that the page shows what that version
shipped.  Anchors (``#section``) and absolute links are left as they are.
setup.py passes the result as ``long_description``; tests/test_release.py
checks that no relative link is left.
"""

from __future__ import annotations

import re
from pathlib import Path

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _project_field(pyproject: str, key: str) -> str:
    m = re.search(r'^%s\s*=\s*"([^"]+)"' % re.escape(key), pyproject, re.M)
    if m is None:
        raise ValueError(f"pyproject.toml: no {key} = \"...\"")
    return m.group(1)


def absolute_links(text: str, source: str, version: str) -> str:
    """Return *text* (Markdown) with every relative link and image made
    absolute against the repository *source* at tag ``v<version>``."""
    source = source.rstrip("/")
    ref = f"v{version}"
    raw = None
    m = re.match(r"https://github\.com/([^/]+/[^/]+)$", source)
    if m is not None:
        raw = f"https://raw.githubusercontent.com/{m.group(1)}/{ref}"

    def fix(match: re.Match[str]) -> str:
        bang, label, target = match.groups()
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            return match.group(0)
        path = target.lstrip("./")
        if bang and raw is not None:
            url = f"{raw}/{path}"
        else:
            url = f"{source}/blob/{ref}/{path}"
        return f"{bang}[{label}]({url})"

    return _LINK.sub(fix, text)


def pypi_readme(root: str | Path) -> str:
    """README.md of the project at *root*, ready for PyPI."""
    root = Path(root)
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    return absolute_links(
        (root / "README.md").read_text(encoding="utf-8"),
        _project_field(pyproject, "Source"),
        _project_field(pyproject, "version"),
    )
