# vec0: a SQLite extension for vector search.
#   make            dist/vec0.so and dist/libvec0.a
#   make test       Check unit tests, sql/ golden tests, Python integration tests,
#                   then the reliability passes: the same under ASan+UBSan,
#                   a subset under valgrind, the fuzz targets over their seeds
#   make bench      benchmarks (bench/), never part of make test
#   make test SANITIZE=address,undefined   the functional tests under sanitizers
#   make fuzz       each fuzz target for FUZZ_SECONDS (default 60) seconds
#   make install    [PREFIX=/usr/local] [DESTDIR=]: module, static library,
#                   vec0.h and vec0.pc
#   make amalgamation   dist/vec0.c and dist/vec0.h: one C file to build from
#   make wheel      dist/vec0-*.whl: the Python package with the extension

CC       ?= cc
PYTHON   ?= /usr/bin/python3
SQLITE3  ?= sqlite3
OPT      ?= -O2
CFLAGS   ?=
WARN      = -Wall -Wextra -Werror -Wno-unused-parameter
# Feature-test macros, shared by the compiler flags and the amalgamation.
FEATURES  = -D_POSIX_C_SOURCE=200809L
BASEFLAGS = -std=c99 $(FEATURES) $(OPT) -g -fPIC -fvisibility=hidden $(WARN) -Isrc
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
	$(Q)$(CC) -shared $(SANLDFLAGS) -Wl,--version-script=$(B)/vec0.map -o $@ $(DYN_OBJ) -lm -lpthread

$(DIST)/libvec0.a: $(STA_OBJ)
	@mkdir -p $(DIST)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $(STA_OBJ)

# Each Check test links the static objects it needs (all of them) and SQLite.
$(B)/tests/%: tests/%.c $(STA_OBJ) $(HDR) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALLFLAGS) -DSQLITE_CORE -o $@ $< $(STA_OBJ) $(SANLDFLAGS) -lsqlite3 $(CHECK_LIBS) -lm -lpthread

# The functional tests, then (not inside a sanitizer build) the reliability
# passes: see tests/RELIABILITY.md.
ifeq ($(SANITIZE),)
test: test-unit test-sql test-c test-py test-san test-valgrind test-fuzz-smoke
else
test: test-unit test-sql test-c test-py
endif

test-unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; CK_FORK=yes $$t; done

test-sql: $(DIST)/vec0.so
	@$(SAN_PRELOAD) SQLITE3=$(SQLITE3) sh sql/run.sh $(abspath $(DIST)/vec0)

# The C embedding example, linked with the static library like a program
# that uses vec0 would be; its output is checked.
EXAMPLE_C = $(B)/examples/knn
$(EXAMPLE_C): examples/c/knn.c include/vec0.h $(DIST)/libvec0.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=c99 $(OPT) $(WARN) -Iinclude -o $@ examples/c/knn.c $(DIST)/libvec0.a $(SANLDFLAGS) -lsqlite3 -lm

test-c: $(EXAMPLE_C)
	@$(EXAMPLE_C) > $(B)/examples/knn.out && diff -u examples/c/knn.expected $(B)/examples/knn.out
	@echo "c: examples/c/knn.c ok"

PYTEST_ARGS ?= tests
test-py: $(DIST)/vec0.so $(DIST)/libvec0.a newsqlite sqlite-vec-peer
	@$(SAN_PRELOAD) VEC0_EXT=$(abspath $(DIST)/vec0) VEC0_DIST=$(abspath $(DIST)) \
	  VEC0_SANITIZE=$(SANITIZE) CC=$(CC) SQLITE3=$(SQLITE3) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
# Unit tests (the OOM test at every 4th allocation: it is the slow one),
# golden SQL and every Python test, under ASan and UBSan.
SAN_FLAGS = address,undefined
test-san:
	@echo "== sanitizers ($(SAN_FLAGS))"
	@FAULT_STRIDE=4 $(MAKE) --no-print-directory SANITIZE=$(SAN_FLAGS) test-unit test-sql test-py

# ThreadSanitizer over the batch insert's threads: the graph library alone
# (it needs no SQLite) with its batch tests but the recall ones, the OOM
# test at every 4th allocation, built with clang (about 20 s on 2 cores).
TSAN_CC  = clang
TSAN_SRC = $(wildcard src/vec0_hnsw*.c)
build-tsan/check_hnsw_batch: tests/check_hnsw_batch.c tests/hnsw_host.h $(TSAN_SRC) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (tsan)")
	$(Q)$(TSAN_CC) -std=c99 $(FEATURES) -O1 -g -fsanitize=thread $(WARN) -Isrc -o $@ $< \
	  $(TSAN_SRC) $(CHECK_LIBS) -lm -lpthread

test-tsan: build-tsan/check_hnsw_batch
	@echo "== ThreadSanitizer: check_hnsw_batch"
	@CK_FORK=yes CK_EXCLUDE_TAGS=recall FAULT_STRIDE=4 TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	  build-tsan/check_hnsw_batch

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

# One C file made from the current sources (tools/amalgamate.py); builds with
# cc -O2 -fPIC -shared vec0.c -o vec0.so -lm.  AMALG_DIR=dir writes elsewhere.
AMALG_DIR ?= $(DIST)
amalgamation: $(AMALG_DIR)/vec0.c $(AMALG_DIR)/vec0.h

$(AMALG_DIR)/vec0.c: tools/amalgamate.py $(SRC) $(EXT) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AMALG   $@")
	$(Q)$(PYTHON) tools/amalgamate.py -o $@ -Isrc $(FEATURES) $(SRC) $(EXT)

$(AMALG_DIR)/vec0.h: include/vec0.h
	@mkdir -p $(dir $@)
	$(Q)cp include/vec0.h $@

# The Python package as a wheel that bundles the extension (bindings/python).
wheel: $(DIST)/vec0.so
	cd bindings/python && VEC0_SO=$(abspath $(DIST)/vec0.so) $(PYTHON) -m pip wheel \
	  --no-build-isolation --no-deps --no-index -w $(abspath $(DIST)) .

# make install: the loadable module (sqlite3_load_extension, .load), the
# static library with its header, and vec0.pc for pkg-config.
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# Paths under PREFIX are written relative to ${prefix} (a relocatable .pc).
under_prefix = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
VERSION      := $(shell sed -n 's/^.define VEC0_VERSION "v\(.*\)"/\1/p' src/vec0Int.h)

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(DIST)/vec0.so $(DESTDIR)$(LIBDIR)/vec0.so
	install -m 644 $(DIST)/libvec0.a $(DESTDIR)$(LIBDIR)/libvec0.a
	install -m 644 include/vec0.h $(DESTDIR)$(INCLUDEDIR)/vec0.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(VERSION)|' \
	  -e 's|@LIBDIR@|$(call under_prefix,$(LIBDIR))|; s|@INCLUDEDIR@|$(call under_prefix,$(INCLUDEDIR))|' \
	  vec0.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/vec0.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/vec0.so $(DESTDIR)$(LIBDIR)/libvec0.a \
	  $(DESTDIR)$(INCLUDEDIR)/vec0.h $(DESTDIR)$(PKGCONFIGDIR)/vec0.pc

# A newer SQLite than Debian 12's 3.40, for the tests of what vec0 does only
# there (LIMIT passed to virtual tables from 3.41, PRAGMA integrity_check
# calling xIntegrity from 3.44): the amalgamation that npm's better-sqlite3
# ships, built into tests/newsqlite/minishell.c.  Without npm (or network)
# those tests are skipped and say why.
NEWSQLITE_PKG = better-sqlite3@12
NEWSQLITE_DIR = tests/newsqlite/build
newsqlite: $(NEWSQLITE_DIR)/minishell
$(NEWSQLITE_DIR)/minishell: tests/newsqlite/minishell.c
	@mkdir -p $(NEWSQLITE_DIR)
	@if [ ! -f $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.c ]; then 	  if command -v npm >/dev/null 2>&1 && (cd $(NEWSQLITE_DIR) && 	      npm pack --silent $(NEWSQLITE_PKG) >/dev/null 2>&1) && 	      tar -C $(NEWSQLITE_DIR) -xzf $(NEWSQLITE_DIR)/better-sqlite3-*.tgz 	        package/deps/sqlite3; then :; 	  else echo "newsqlite: no npm or no network: the newer-SQLite tests will be skipped"; fi; fi
	@if [ -f $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.c ]; then 	  echo "  CC      $@ (SQLite $$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' 	    $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.h))"; 	  $(CC) -O1 -DSQLITE_ENABLE_LOAD_EXTENSION=1 -I$(NEWSQLITE_DIR)/package/deps/sqlite3 	    -o $@ $< $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.c -lm -lpthread -ldl; fi

# sqlite-vec 0.1.9 itself (npm), for the tests that compare table shapes with
# it; without npm they are skipped and say why.
sqlite-vec-peer:
	@$(MAKE) -s -C bench peers >/dev/null 2>&1 || \
	  echo "sqlite-vec-peer: npm install failed; the comparisons with sqlite-vec are skipped"

# What a fresh Debian 12 needs to build and test (run as root, as CI does).
DEB_PKGS = build-essential pkg-config libsqlite3-dev sqlite3 check python3-pytest python3-numpy \
	python3-setuptools python3-wheel python3-pip python3-venv dataset-fashion-mnist \
	clang libclang-rt-14-dev valgrind
deps:
	@if dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then echo "deps: installed"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS); fi

# The main job: build, then a real vector search in the sqlite3 shell.
demo: all
	$(SQLITE3) :memory: < examples/demo.sql

clean:
	rm -rf build build-san dist dist-san build-fuzz build-tsan bindings/python/build bindings/python/vec0.egg-info

.PHONY: all test test-unit test-sql test-c test-py test-san test-tsan test-valgrind test-fuzz-smoke \
	fuzz fuzz-build bench clean deps demo amalgamation newsqlite install uninstall wheel \
	sqlite-vec-peer
