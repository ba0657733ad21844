# vec0: a SQLite extension for vector search.
#   make            dist/vec0.so and dist/libvec0.a
#   make check      the inner loop: unit tests (the OOM test at every 8th
#                   allocation), sql/ golden tests, Python tests; ~3 minutes
#   make test       Check unit tests, sql/ golden tests, Python integration tests,
#                   then the reliability passes: the same under ASan+UBSan,
#                   a subset under valgrind, the fuzz targets over their seeds;
#                   test-cluster: vec0 in a 3-node dqlite cluster and
#                   statement-log replay (docs/replication.md)
#   make bench      benchmarks (bench/), never part of make test
#   make test SANITIZE=address,undefined   the functional tests under sanitizers
#   make fuzz       each fuzz target for FUZZ_SECONDS (default 60) seconds
#   make install    [PREFIX=/usr/local] [DESTDIR=]: module, static library,
#                   vec0.h and vec0.pc
#   make amalgamation   dist/vec0.c and dist/vec0.h: one C file to build from
#   make wheel      dist/vec0-*.whl: the Python package with the extension
#   make npm-pack   dist/vec0-*.tgz: the Node.js package with the extension
#   make test-bindings   the Node.js, Go and Rust packages and the client snippets

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
# -DSQLITE_CORE changes only the files that see SQLite's headers: the others
# (the HNSW library, the distance kernels, quantization, the allocator, which
# include neither vec0Int.h nor sqlite3*.h, nor do their headers) compile to
# the same bytes either way, so the static library takes their dyn/ objects
# instead of compiling them twice (a third of the compile, more under ASan).
NOSQL_SRC = $(shell grep -L -e 'vec0Int\.h' -e 'sqlite3' $(SRC))
STA_OBJ  = $(patsubst %.c,$(B)/dyn/%.o,$(NOSQL_SRC)) \
           $(patsubst %.c,$(B)/sta/%.o,$(filter-out $(NOSQL_SRC),$(SRC)) $(EXT))

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
# passes: see tests/RELIABILITY.md.  The passes run side by side, TEST_JOBS
# at a time (the machine's cores), each one's output printed whole when it
# ends; one after another they take about twice as long.
TEST_JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
# Longest first (make starts them in this order): a long pass started last
# would run alone on one core at the end, the other one idle.
TEST_PASSES  = test-san test-py test-cluster test-unit test-bindings test-tsan test-valgrind \
  test-fuzz-smoke test-sql test-c
ifeq ($(SANITIZE),)
test:
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target $(TEST_PASSES)
else
test: test-unit test-sql test-c test-py
endif

# make test samples the OOM sweep at every OOM_STRIDE-th allocation (7, from
# an offset that differs per step, so that the steps together reach every
# residue; make check's 8 samples others): the sweep grew past 100 000
# allocations with the fill, the bulk queue and the 0.1.10 forms, and make
# test must stay under 10 minutes on 2 cores; make test-oom-full tries every
# one.  glibc's malloc keeps freed memory instead of handing the top of the
# heap back after every test (brk() took 6 % of the sweep's
# samples in perf).  Each test program is a target
# of its own, and the OOM test two (its transient and its persistent
# faults), so that make -j runs them side by side.
OOM_STRIDE ?= 7
UNIT_ENV    = GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=67108864
UNIT_STRIDE = $(OOM_STRIDE)
UNIT_RUNS   = $(patsubst $(B)/tests/%,unit-%,$(filter-out %/check_fault,$(TESTS))) \
              unit-fault-transient unit-fault-persistent
test-unit: $(UNIT_RUNS)
$(filter unit-check_%,$(UNIT_RUNS)): unit-check_%: $(B)/tests/check_%
	@echo "== $<"; $(UNIT_ENV) FAULT_STRIDE=$(UNIT_STRIDE) CK_FORK=yes $<
unit-fault-transient unit-fault-persistent: unit-fault-%: $(B)/tests/check_fault
	@echo "== $< ($* faults)"; $(UNIT_ENV) FAULT_MODE=$* FAULT_STRIDE=$(UNIT_STRIDE) CK_FORK=yes $<
test-oom-full: $(B)/tests/check_fault
	@FAULT_STRIDE=1 CK_FORK=yes $(B)/tests/check_fault

# The inner loop: the functional tests with the OOM test sampled at every
# CHECK_STRIDE-th allocation (8; make test-unit tries every one).  With -j2
# the unit and Python tests run side by side.
CHECK_STRIDE ?= 8
check: check-unit test-sql test-py
check-unit: UNIT_STRIDE = $(CHECK_STRIDE)
check-unit: $(UNIT_RUNS)

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

# The AArch64 kernels (NEON, and sdot where the CPU has the dot-product
# extension) against the portable ones, cross-compiled and run under
# qemu-aarch64 on an x86 machine: once with -cpu max (sdot) and once with
# -cpu cortex-a57 (none: the NEON fallback).  Not part of make test; needs
# Debian's gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user
# (tests/RELIABILITY.md).
AARCH64_CC ?= aarch64-linux-gnu-gcc
NEON_SRC    = tests/neon_kernels.c src/vec0_distance.c src/vec0_distance_code.c \
              src/vec0_distance_neon.c src/vec0_distance_portable.c src/vec0_elem.c
test-neon: $(NEON_SRC) $(HDR)
	@mkdir -p $(B)/neon
	$(Q)$(AARCH64_CC) -std=c99 $(FEATURES) -O2 $(WARN) -Isrc -static -o $(B)/neon/neon_kernels $(NEON_SRC) -lm
	qemu-aarch64 -cpu max $(B)/neon/neon_kernels
	qemu-aarch64 -cpu cortex-a57 $(B)/neon/neon_kernels

PYTEST_ARGS ?= tests
test-py: $(DIST)/vec0.so $(DIST)/libvec0.a newsqlite sqlite-vec-peer
	@$(SAN_PRELOAD) VEC0_EXT=$(abspath $(DIST)/vec0) VEC0_DIST=$(abspath $(DIST)) \
	  VEC0_SANITIZE=$(SANITIZE) CC=$(CC) SQLITE3=$(SQLITE3) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)
# Replication (tests/cluster/run.py, docs/replication.md): a 3-node dqlite
# cluster on 127.0.0.1 whose nodes (tests/cluster/node, Go with go-dqlite,
# built offline from Debian's Go sources) link dist/libvec0.a (named in
# main.go's #cgo lines, always the plain build), then one statement log
# replayed by separate processes under each kernel set.  No CGO_CFLAGS or
# CGO_LDFLAGS in the environment: they would make Go rebuild its standard
# library's cgo packages and all that imports them (net/http: ~16 CPU s).
# Go caches by flags, not by the contents of libvec0.a: its checksum goes
# into the link flags (-X), so a new library relinks the node.
CLUSTER_NODE = build/cluster/vec0-node
$(CLUSTER_NODE): tests/cluster/node/main.go include/vec0.h dist/libvec0.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GO      $@")
	$(Q)GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(abspath build)/cluster/gocache \
	  CGO_ENABLED=1 CGO_LDFLAGS_ALLOW='-Wl,-z,now' go build \
	  -ldflags "-X main.vec0LibSum=$$(cksum < dist/libvec0.a | cut -d' ' -f1)" -o $@ ./tests/cluster/node
test-cluster: $(CLUSTER_NODE) dist/vec0.so
	@$(PYTHON) tests/cluster/run.py --node $(CLUSTER_NODE) --ext $(abspath dist/vec0)

# Unit tests, golden SQL and the Python tests under ASan and UBSan.
SAN_FLAGS = address,undefined
# The OOM sweep runs at every 7th allocation without sanitizers (test-unit);
# here a sample of it (every 64th, other offsets) is enough to catch what a
# failure path does to memory.  The Python tests that only build programs
# (the amalgamation, the wheel, make install) add nothing under ASan and are
# left to test-py, as are those marked heavy (tests/conftest.py): recall and
# crash survival at a scale that takes ASan minutes, on paths that smaller
# tests cover.
SAN_PYTEST_ARGS = tests --ignore=tests/test_amalgamation.py --ignore=tests/test_wheel.py \
	--ignore=tests/test_install.py
# newsqlite and the sqlite-vec peer first, here: test-py needs them too, and
# the two passes start together; each fetching and compiling SQLite on its
# own (the sub-make does not see the other's job) cost its compile twice.
test-san: newsqlite sqlite-vec-peer
	@echo "== sanitizers ($(SAN_FLAGS))"
	@$(MAKE) --no-print-directory SANITIZE=$(SAN_FLAGS) OOM_STRIDE=64 \
	  PYTEST_ARGS="$(SAN_PYTEST_ARGS)" test-unit test-sql test-py

# ThreadSanitizer over the batch insert's threads: the graph library alone
# (it needs no SQLite) with its batch tests but the recall ones (and of
# their pass with the rows in read order, two), the OOM test at every 4th
# allocation, built with clang (about 30 s on 2 cores).
TSAN_CC  = clang
TSAN_SRC = $(wildcard src/vec0_hnsw*.c) src/vec0_mem.c
build-tsan/check_hnsw_batch: tests/check_hnsw_batch.c tests/hnsw_host.h $(TSAN_SRC) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (tsan)")
	$(Q)$(TSAN_CC) -std=c99 $(FEATURES) -O1 -g -fsanitize=thread $(WARN) -Isrc -o $@ $< \
	  $(TSAN_SRC) $(CHECK_LIBS) -lm -lpthread

# ... and the queued bulk insert through SQL: the whole extension built in
# (SQLite itself is the system's, not instrumented; no worker calls it).
build-tsan/check_bulk: tests/check_bulk.c $(SRC) $(EXT) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (tsan)")
	$(Q)$(TSAN_CC) -std=c99 $(FEATURES) -O1 -g -fsanitize=thread $(WARN) -DSQLITE_CORE -Isrc \
	  -o $@ $< $(SRC) $(EXT) -lsqlite3 $(CHECK_LIBS) -lm -lpthread

# ... and the fill of a reopened table's cache by a helper thread with its
# own connection (vec0_storage_fill.c), which does call SQLite.
build-tsan/check_fill: tests/check_fill.c $(SRC) $(EXT) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (tsan)")
	$(Q)$(TSAN_CC) -std=c99 $(FEATURES) -O1 -g -fsanitize=thread $(WARN) -DSQLITE_CORE -Isrc \
	  -o $@ $< $(SRC) $(EXT) -lsqlite3 $(CHECK_LIBS) -lm -lpthread

# ... and the loadable extension itself, loaded by eight threads' connections
# at once (SQLite, again, is the system's).
build-tsan/vec0.so: $(SRC) $(EXT) $(HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (tsan)")
	$(Q)$(TSAN_CC) -std=c99 $(FEATURES) -O1 -g -fsanitize=thread -fPIC -shared $(WARN) -Isrc \
	  -o $@ $(SRC) $(EXT) -lm -lpthread
build-tsan/check_load: tests/check_load.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@ (tsan)")
	$(Q)$(TSAN_CC) -std=c99 $(FEATURES) -O1 -g -fsanitize=thread $(WARN) -o $@ $< \
	  -lsqlite3 $(CHECK_LIBS) -lpthread

test-tsan: build-tsan/check_hnsw_batch build-tsan/check_bulk build-tsan/check_fill \
  build-tsan/check_load build-tsan/vec0.so
	@echo "== ThreadSanitizer: check_hnsw_batch"
	@CK_FORK=yes CK_EXCLUDE_TAGS="recall arena-more" FAULT_STRIDE=4 \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66" build-tsan/check_hnsw_batch
	@echo "== ThreadSanitizer: check_bulk"
	@CK_FORK=yes TSAN_OPTIONS="halt_on_error=1 exitcode=66" build-tsan/check_bulk
	@echo "== ThreadSanitizer: check_fill"
	@CK_FORK=yes TSAN_OPTIONS="halt_on_error=1 exitcode=66" build-tsan/check_fill
	@echo "== ThreadSanitizer: check_load"
	@CK_FORK=yes TSAN_OPTIONS="halt_on_error=1 exitcode=66" VEC0_LOAD_EXT=build-tsan/vec0 \
	  build-tsan/check_load

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
# those tests are skipped and say why.  -O0: its tests run a few statements,
# and SQLite compiles in 4 CPU s instead of 11 at -O1.
NEWSQLITE_PKG = better-sqlite3@12
NEWSQLITE_DIR = tests/newsqlite/build
newsqlite: $(NEWSQLITE_DIR)/minishell
$(NEWSQLITE_DIR)/minishell: tests/newsqlite/minishell.c
	@mkdir -p $(NEWSQLITE_DIR)
	@if [ ! -f $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.c ]; then 	  if command -v npm >/dev/null 2>&1 && (cd $(NEWSQLITE_DIR) && 	      npm pack --silent $(NEWSQLITE_PKG) >/dev/null 2>&1) && 	      tar -C $(NEWSQLITE_DIR) -xzf $(NEWSQLITE_DIR)/better-sqlite3-*.tgz 	        package/deps/sqlite3; then :; 	  else echo "newsqlite: no npm or no network: the newer-SQLite tests will be skipped"; fi; fi
	@if [ -f $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.c ]; then 	  echo "  CC      $@ (SQLite $$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' 	    $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.h))"; 	  $(CC) -O0 -DSQLITE_ENABLE_LOAD_EXTENSION=1 -I$(NEWSQLITE_DIR)/package/deps/sqlite3 	    -o $@ $< $(NEWSQLITE_DIR)/package/deps/sqlite3/sqlite3.c -lm -lpthread -ldl; fi

# sqlite-vec 0.1.9 itself (npm), for the tests that compare table shapes with
# it; without npm they are skipped and say why.
sqlite-vec-peer:
	@$(MAKE) -s -C bench peers >/dev/null 2>&1 || \
	  echo "sqlite-vec-peer: npm install failed; the comparisons with sqlite-vec are skipped"

# Language bindings (bindings/, docs/node.md, go.md, rust.md, clients.md).
# Each test drives its toolchain from pytest and is skipped, saying why, when
# the toolchain is absent; `make deps` installs them all.
NODE          ?= node
NPM           ?= npm
NODE_PLATFORM  = $(shell $(NODE) -p 'process.platform + "-" + process.arch' 2>/dev/null)
NODE_VERSION   = $(shell sed -n 's/^ *"version": "\(.*\)",/\1/p' bindings/node/package.json)
# The npm packages the Node test uses, installed by `make deps` (node-deps).
NODE_DEPS_DIR  = tests/bindings/deps
NODE_DEPS      = better-sqlite3@12 typescript@5 @types/better-sqlite3@7 @types/node@20
# Debian's Go and Rust, which build offline against Debian's libraries.
GO            ?= go
CARGO         ?= $(if $(wildcard /usr/bin/cargo),/usr/bin/cargo,cargo)
BINDINGS_ENV   = VEC0_EXT=$(abspath $(DIST)/vec0) VEC0_DIST=$(abspath $(DIST)) CC=$(CC) \
                 SQLITE3=$(SQLITE3) NODE=$(NODE) NPM=$(NPM) GO=$(GO) CARGO=$(CARGO) \
                 VEC0_NODE_DEPS=$(abspath $(NODE_DEPS_DIR))/node_modules VEC0_BUILD=$(abspath $(B))
BINDINGS_PYTEST = $(BINDINGS_ENV) $(PYTHON) -m pytest -q -rs --tb=short -p no:cacheprovider
# A module skipped whole (its toolchain absent, saying why) collects no test:
# pytest's exit status 5, not a failure.
SKIPPED_OK = || [ $$? -eq 5 ]

# dist/vec0-<version>.tgz: bindings/node with this platform's extension in
# lib/<platform>-<arch>/, as `npm install` takes it.
npm-pack: $(DIST)/vec0.so
	@test -n "$(NODE_PLATFORM)" || { echo "npm-pack: needs node and npm"; exit 1; }
	@rm -rf $(B)/npm && mkdir -p $(B)/npm/lib/$(NODE_PLATFORM)
	@cp bindings/node/package.json bindings/node/index.js bindings/node/index.d.ts \
	  bindings/node/README.md $(B)/npm/
	@cp $(DIST)/vec0.so $(B)/npm/lib/$(NODE_PLATFORM)/vec0.so
	@cd $(B)/npm && $(NPM) pack --silent --pack-destination $(abspath $(DIST)) >/dev/null
	@echo "  NPM     $(DIST)/vec0-$(NODE_VERSION).tgz"

node-deps:
	@if ! command -v $(NPM) >/dev/null 2>&1; then echo "node-deps: no npm: the Node.js tests will be skipped"; \
	elif [ -d $(NODE_DEPS_DIR)/node_modules/better-sqlite3/build/Release ] && \
	     [ -d $(NODE_DEPS_DIR)/node_modules/typescript ]; then echo "node-deps: installed"; \
	else mkdir -p $(NODE_DEPS_DIR) && cd $(NODE_DEPS_DIR) && \
	  { [ -f package.json ] || echo '{"private": true}' > package.json; } && \
	  $(if $(wildcard /usr/include/node/node_api.h),npm_config_nodedir=/usr) \
	  $(NPM) install --no-audit --no-fund --no-save $(NODE_DEPS) || \
	  echo "node-deps: npm install failed (no network?): the Node.js tests will be skipped"; fi

# bindings/go/vec0_amalgamation.c: the amalgamation, built by the Go package
# unless it is built with -tags vec0_libvec0 (which links libvec0.a).
GO_AMALG ?= bindings/go/vec0_amalgamation.c
go-amalgamation: $(DIST)/vec0.c
	@{ echo '//go:build !vec0_libvec0'; echo; cat $(DIST)/vec0.c; } > $(GO_AMALG).tmp && \
	  mv $(GO_AMALG).tmp $(GO_AMALG)
	@echo "  GO      $(GO_AMALG)"

test-bindings: test-node test-go test-rust test-clients

test-node: $(DIST)/vec0.so
	@echo "== Node.js package (bindings/node)"
	@if [ -n "$(NODE_PLATFORM)" ]; then $(MAKE) --no-print-directory npm-pack; fi
	@$(BINDINGS_PYTEST) tests/bindings/bind_node.py $(SKIPPED_OK)

test-go: $(DIST)/vec0.so
	@echo "== Go package (bindings/go)"
	@$(BINDINGS_PYTEST) tests/bindings/bind_go.py $(SKIPPED_OK)

test-rust: $(DIST)/vec0.so
	@echo "== Rust crate (bindings/rust)"
	@$(BINDINGS_PYTEST) tests/bindings/bind_rust.py $(SKIPPED_OK)

test-clients: $(DIST)/vec0.so
	@echo "== docs/clients.md, one snippet per client"
	@$(BINDINGS_PYTEST) tests/bindings/bind_clients.py $(SKIPPED_OK)

# What a fresh Debian 12 needs to build and test (run as root, as CI does).
DEB_PKGS = build-essential pkg-config libsqlite3-dev sqlite3 check python3-pytest python3-numpy \
	python3-setuptools python3-wheel python3-pip python3-venv dataset-fashion-mnist \
	clang libclang-rt-14-dev valgrind $(BINDING_PKGS) $(CLUSTER_PKGS)
# The bindings' toolchains and libraries, and the clients of docs/clients.md.
BINDING_PKGS = golang-go golang-github-mattn-go-sqlite3-dev cargo librust-rusqlite-dev \
	librust-cc-dev php-cli php-sqlite3 ruby ruby-sqlite3 libdbd-sqlite3-perl tcl \
	libsqlite3-tcl sqlite-utils
# The replicated-cluster test (tests/cluster).
CLUSTER_PKGS = libdqlite-dev golang-github-canonical-go-dqlite-dev
deps:
	@if dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then echo "deps: installed"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS); fi
	@$(MAKE) --no-print-directory node-deps

# The main job: build, then a real vector search in the sqlite3 shell.
demo: all
	$(SQLITE3) :memory: < examples/demo.sql

clean:
	rm -rf build build-san dist dist-san build-fuzz build-tsan bindings/python/build \
	  bindings/python/vec0.egg-info bindings/rust/target

.PHONY: all check check-unit test-neon test test-unit $(UNIT_RUNS) test-oom-full test-sql test-c test-py test-cluster test-san \
	test-tsan test-valgrind test-fuzz-smoke fuzz fuzz-build bench clean deps demo amalgamation \
	newsqlite install uninstall wheel sqlite-vec-peer npm-pack node-deps go-amalgamation \
	test-bindings test-node test-go test-rust test-clients
