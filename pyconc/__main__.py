"""Command line: ``python -m pyconc bench [options]``."""

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m pyconc bench [--quick | --full] [--only PATTERN] "
              "[--threads 1,2,4] [--json FILE] [--plot FILE.png]\n\n"
              "commands:\n  bench    pyconc against the stdlib and peer packages, side by side")
        return 0 if argv else 2
    if argv[0] == "bench":
        from pyconc._bench import main as bench_main

        return bench_main(argv[1:])
    print(f"python -m pyconc: unknown command {argv[0]!r} (try 'bench')", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
