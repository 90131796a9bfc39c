"""Fork-join over a list of files: one thread per file counts its lines
and words; the main thread joins them and adds up (Rust: spawn + join).

    python examples/fork_join.py [FILE ...]     (default: the examples)
"""

import sys
from pathlib import Path

import pyconc


def count(path):
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return len(text.splitlines()), len(text.split())


def main(paths):
    handles = [(p, pyconc.spawn(count, p)) for p in paths]  # fork
    total_lines = total_words = 0
    for path, h in handles:  # join
        try:
            lines, words = h.join()
        except OSError as e:  # the thread's exception, re-raised by join()
            print(f"{path}: error: {e}")
            continue
        print(f"{path}: {lines} lines, {words} words")
        total_lines += lines
        total_words += words
    print(f"total: {total_lines} lines, {total_words} words")
    return total_lines, total_words


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in Path(__file__).parent.glob("*.py")))
