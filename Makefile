# vec0: a SQLite extension for vector search.
#   make            dist/vec0.so and dist/libvec0.a
#   make test       Check unit tests, sql/ golden tests, Python integration tests,
#                   then the reliability passes: the same under ASan+UBSan,
#                   a subset under valgrind, the fuzz targets over their seeds
#   make bench      benchmarks (bench/), never part of make test
#   make test SANITIZE=address,undefined   the functional tests under sanitizers
#   make fuzz       each fuzz target for FUZZ_SECONDS (default 60) seconds

CC       ?= cc
PYTHON   ?= /usr/bin/python3
SQLITE3  ?= sqlite3
OPT      ?= -O2
CFLAGS   ?=
WARN      = -Wall -Wextra -Werror -Wno-unused-parameter
BASEFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L $(OPT) -g -fPIC -fvisibility=hidden $(WARN) -Isrc
ifneq ($(SANITIZE),)
BASEFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SANLDFLAGS = -fsanitize=$(SANITIZE)
# The sqlite3 shell and python are not built with ASan: preload its runtime.
SAN_PRELOAD = LD_PRELOAD="$(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0
endif
ALLFLAGS  = $(BASEFLAGS) $(CFLAGS)
# `make V=1` shows the full commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

SRC      = $(wildcard src/*.c)
EXT      = ext/vec0_ext.c
HDR      = $(wildcard src/*.h)
B        = build$(if $(SANITIZE),-san)
DYN_OBJ  = $(patsubst %.c,$(B)/dyn/%.o,$(SRC) $(EXT))
STA_OBJ  = $(patsubst %.c,$(B)/sta/%.o,$(SRC) $(EXT))

CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -lpthread)
TESTS      = $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/check_*.c))

DIST = dist$(if $(SANITIZE),-san)

all: $(DIST)/vec0.so $(DIST)/libvec0.a

$(B)/dyn/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALLFLAGS) -c $< -o $@

$(B)/sta/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (static)")
	$(Q)$(CC) $(ALLFLAGS) -DSQLITE_CORE -c $< -o $@

$(B)/vec0.map: vec0.def
	@mkdir -p $(B)
	{ echo '{ global:'; sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)$$/  \1;/p' vec0.def | grep -v EXPORTS; echo 'local: *; };'; } > $@

$(DIST)/vec0.so: $(DYN_OBJ) $(B)/vec0.map
	@mkdir -p $(DIST)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) -shared $(SANLDFLAGS) -Wl,--version-script=$(B)/vec0.map -o $@ $(DYN_OBJ) -lm

$(DIST)/libvec0.a: $(STA_OBJ)
	@mkdir -p $(DIST)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $(STA_OBJ)

# Each Check test links the static objects it needs (all of them) and SQLite.
$(B)/tests/%: tests/%.c $(STA_OBJ) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALLFLAGS) -DSQLITE_CORE -o $@ $< $(STA_OBJ) $(SANLDFLAGS) -lsqlite3 $(CHECK_LIBS) -lm

# The functional tests, then (not inside a sanitizer build) the reliability
# passes: see tests/RELIABILITY.md.
ifeq ($(SANITIZE),)
test: test-unit test-sql test-py test-san test-valgrind test-fuzz-smoke
else
test: test-unit test-sql test-py
endif

test-unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; CK_FORK=yes $$t; done

test-sql: $(DIST)/vec0.so
	@$(SAN_PRELOAD) SQLITE3=$(SQLITE3) sh sql/run.sh $(abspath $(DIST)/vec0)

PYTEST_ARGS ?= tests
test-py: $(DIST)/vec0.so
	@$(SAN_PRELOAD) VEC0_EXT=$(abspath $(DIST)/vec0) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Unit tests (the OOM test at every 4th allocation: it is the slow one),
# golden SQL and the Python corruption tests, under ASan and UBSan.
SAN_FLAGS = address,undefined
test-san:
	@echo "== sanitizers ($(SAN_FLAGS))"
	@FAULT_STRIDE=4 $(MAKE) --no-print-directory SANITIZE=$(SAN_FLAGS) test-unit test-sql \
	  PYTEST_ARGS=tests/test_corrupt.py test-py

# memcheck on two unit tests and two golden SQL files through the shell.
test-valgrind: $(B)/tests/check_config $(B)/tests/check_vector $(DIST)/vec0.so
	@echo "== valgrind"
	@sh tests/valgrind.sh "$(SQLITE3)" $(abspath $(DIST)/vec0) $(B)/tests/check_config \
	  $(B)/tests/check_vector

# libFuzzer targets: clang with its fuzzer, ASan and UBSan runtimes, over
# objects built for them.  `make fuzz` runs each for FUZZ_SECONDS, keeping
# the inputs it finds in build-fuzz/corpus/ and a crash in
# build-fuzz/<target>-crash-*; `make test` runs each over its seeds.
FUZZ_CC      = clang
FUZZ_SAN     = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  = -std=c99 -D_POSIX_C_SOURCE=200809L -O1 -g -fno-omit-frame-pointer \
               $(WARN) -Isrc -DSQLITE_CORE
FUZZ_OBJ     = $(patsubst %.c,build-fuzz/obj/%.o,$(SRC) $(EXT))
FUZZ_TARGETS = $(patsubst fuzz/%.c,build-fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

build-fuzz/obj/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -c $< -o $@

build-fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ) $(HDR)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -o $@ $< $(FUZZ_OBJ) -lsqlite3 -lm

# Not intermediates: make would delete them after linking the targets.
.SECONDARY: $(FUZZ_OBJ)

fuzz-build: $(FUZZ_TARGETS)

test-fuzz-smoke: $(FUZZ_TARGETS)
	@echo "== fuzz targets over their seed corpus"
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); \
	  $$t -runs=0 -artifact_prefix=$$t- fuzz/corpus/$$n > $$t.log 2>&1 || \
	    { cat $$t.log; exit 1; }; \
	  grep -E "^(INFO: seed corpus|#[0-9]+[[:space:]]+INITED)" $$t.log | sed "s|^|$$n: |"; \
	done

fuzz: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); \
	  mkdir -p build-fuzz/corpus/$$n; echo "== $$n for $(FUZZ_SECONDS) s"; \
	  nice -n 15 $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$$t- build-fuzz/corpus/$$n fuzz/corpus/$$n; \
	done

bench: all
	$(MAKE) -C bench

# What a fresh Debian 12 needs to build and test (run as root, as CI does).
DEB_PKGS = build-essential pkg-config libsqlite3-dev sqlite3 check python3-pytest python3-numpy \
           clang libclang-rt-14-dev valgrind
deps:
	@if dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then echo "deps: installed"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS); fi

# The main job: build, then a real vector search in the sqlite3 shell.
demo: all
	$(SQLITE3) :memory: < examples/demo.sql

clean:
	rm -rf build build-san dist dist-san build-fuzz

.PHONY: all test test-unit test-sql test-py test-san test-valgrind test-fuzz-smoke \
	fuzz fuzz-build bench clean deps demo
