# pyconc: the two commands of the README, and the checks behind them.
#   make bench   create .venv, install pyconc (+ peer packages), run the benchmark comparison
#   make test    create .venv, build with -Werror, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
CSRC   := $(wildcard csrc/*.c)
CFLAGS_CHECK := -std=c11 -O2 -Wall -Wextra -Werror -Icsrc

.PHONY: bench test venv install-test cwarn bench-pytest clean

bench: venv
	$(PIP) install ".[peers]"
	$(PY) -m pyconc bench $(BENCH_ARGS)

test: install-test
	$(PY) -m pytest tests $(PYTEST_ARGS)

venv: $(PY)
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip

install-test: venv
	PYCONC_WERROR=1 $(PIP) install -e ".[test]"

# The C core alone, warning-free under every compiler present (gcc, clang).
cwarn:
	@set -e; for cc in gcc clang; do \
	  if command -v $$cc >/dev/null 2>&1; then \
	    for f in $(CSRC); do $$cc $(CFLAGS_CHECK) -c $$f -o /dev/null; done; \
	    echo "$$cc: csrc/ builds with -Wall -Wextra -Werror"; \
	  else echo "$$cc: not installed, skipped"; fi; \
	done

bench-pytest: install-test
	$(PY) -m pytest bench --benchmark-group-by=group --benchmark-columns=min,mean,ops,rounds

clean:
	rm -rf build dist *.egg-info pyconc/_core*.so pyconc/_core*.pyd $(VENV)
