# nntrain - see README.md.  `make run` trains the default config, `make check`
# runs every test (also under AddressSanitizer + UBSan).

PREFIX  ?= /usr/local
CC      ?= cc
CFLAGS  ?= -O2
WARN    := -std=c17 -fopenmp-simd -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# Nothing reads errno after a math call; without this, sqrtf must keep its
# errno path and loops that call it (Adam's update) cannot be vectorised.
WARN    += -fno-math-errno
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Debian packages that provide what pkg-config is asked for below, and the
# tools the tests use: jq (the README's pipeline examples), valgrind (memcheck
# runs), clang (libFuzzer), locales (a comma-decimal locale for the CSV tests),
# librsvg2-bin (rsvg-convert renders the --plot SVGs in tests/cli/plot.sh),
# python3 (its standard library parses those SVGs and recomputes --cv's folds).
APT_PKGS := pkg-config libcjson-dev zlib1g-dev check jq valgrind clang locales librsvg2-bin \
            python3

# Recursive (=) so pkg-config runs only after `deps` has installed it.
PKG_CFLAGS = $(shell pkg-config --cflags libcjson zlib)
PKG_LIBS   = $(shell pkg-config --libs libcjson zlib)
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

ALL_CFLAGS = $(WARN) $(CFLAGS) -pthread -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS_ALL = $(PKG_LIBS) -lm -pthread

# The command line (src/cli) is a client of everything else, which is built
# into build/libnntrain.a.
LIB_SRC  := $(shell find src -name '*.c' -not -path 'src/cli/*' | LC_ALL=C sort)
MAIN_SRC := $(shell find src/cli -name '*.c' | LC_ALL=C sort)
TEST_SRC := $(shell find tests -maxdepth 1 -name 'test_*.c' | LC_ALL=C sort)

B := build
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
SAN_LIB_OBJ  := $(LIB_SRC:%.c=$(B)/san/%.o)
MAIN_OBJ     := $(MAIN_SRC:%.c=$(B)/%.o)
SAN_MAIN_OBJ := $(MAIN_SRC:%.c=$(B)/san/%.o)
SAN_TEST_OBJ := $(TEST_SRC:%.c=$(B)/san/%.o)
DEPS_STAMP := $(B)/.deps-ok

# Instruction-set flags go to the one kernel file that needs them, and only
# when the compiler targets x86 (elsewhere those files compile to nothing and
# the scalar kernels run); the rest of the program stays portable.
ifneq ($(filter x86_64% i386% i486% i586% i686%,$(shell $(CC) -dumpmachine)),)
ISA_avx2   := -mavx2 -mfma
ISA_avx512 := -mavx512f -mavx2 -mfma
ISA_avx512bf16 := -mavx512f -mavx512bf16 -mavx2 -mfma
ISA_amx    := -mamx-tile -mamx-bf16 -mavx512f -mavx512bf16
endif
$(B)/src/kernels/avx2.o $(B)/san/src/kernels/avx2.o $(B)/mpi/src/kernels/avx2.o: ISA_CFLAGS = $(ISA_avx2)
$(B)/src/kernels/avx2bf16.o $(B)/san/src/kernels/avx2bf16.o $(B)/mpi/src/kernels/avx2bf16.o: ISA_CFLAGS = $(ISA_avx2)
$(B)/src/kernels/avx512.o $(B)/san/src/kernels/avx512.o $(B)/mpi/src/kernels/avx512.o: ISA_CFLAGS = $(ISA_avx512)
$(B)/src/kernels/avx512bf16.o $(B)/san/src/kernels/avx512bf16.o $(B)/mpi/src/kernels/avx512bf16.o: ISA_CFLAGS = $(ISA_avx512bf16)
$(B)/src/kernels/amx.o $(B)/san/src/kernels/amx.o $(B)/mpi/src/kernels/amx.o: ISA_CFLAGS = $(ISA_amx)
$(B)/pic/src/kernels/avx2.o: ISA_CFLAGS = $(ISA_avx2)
$(B)/pic/src/kernels/avx2bf16.o: ISA_CFLAGS = $(ISA_avx2)
$(B)/pic/src/kernels/avx512.o: ISA_CFLAGS = $(ISA_avx512)
$(B)/pic/src/kernels/avx512bf16.o: ISA_CFLAGS = $(ISA_avx512bf16)
$(B)/pic/src/kernels/amx.o: ISA_CFLAGS = $(ISA_amx)

.PHONY: all run check unit mutation install uninstall clean deps data bench bench-deps bench-data \
        bench-best lib check-symbols
all: nntrain
# `make MPI=1` builds the MPI binary too (see "MPI build" below).
ifeq ($(MPI),1)
all: nntrain-mpi
endif

# --- system packages ------------------------------------------------------
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@mkdir -p $(B)
	@if ! command -v pkg-config >/dev/null 2>&1 || \
	    ! pkg-config --exists libcjson zlib check 2>/dev/null || \
	    ! command -v jq >/dev/null 2>&1 || ! command -v valgrind >/dev/null 2>&1 || \
	    ! command -v clang >/dev/null 2>&1 || ! command -v rsvg-convert >/dev/null 2>&1 || \
	    [ ! -x /usr/bin/python3 ] || \
	    [ ! -f /usr/share/i18n/locales/de_DE ]; then \
	  echo "installing missing packages: $(APT_PKGS)"; \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y $(APT_PKGS) || exit 1; \
	fi
	@touch $@

# A comma-decimal locale for the CSV tests, built into the build folder so no
# system locale needs to be generated.
LOCALE_DIR := $(B)/locale
$(LOCALE_DIR)/de_DE.UTF-8: | $(DEPS_STAMP)
	@mkdir -p $(LOCALE_DIR)
	localedef -i de_DE -f UTF-8 $@ || true
	@test -d $@ || { echo "could not build the de_DE.UTF-8 locale"; exit 1; }

# Debian's python3-onnx and python3-opencv for tests/onnx (onnx's checker and
# OpenCV's dnn read the files --export writes), installed when missing; they
# are imported by /usr/bin/python3, not a python3 of PATH.
ONNX_APT_PKGS := python3-onnx python3-opencv
ONNX_DEPS_STAMP := $(B)/.deps-onnx-ok
$(ONNX_DEPS_STAMP): | $(DEPS_STAMP)
	@if ! /usr/bin/python3 -c 'import onnx, cv2' >/dev/null 2>&1; then \
	  echo "installing missing packages: $(ONNX_APT_PKGS)"; \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y $(ONNX_APT_PKGS) || exit 1; \
	fi
	@touch $@

# --- build ------------------------------------------------------------------
# Objects depend on this file too: a changed flag rebuilds them.
$(B)/%.o: %.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_CFLAGS) -c $< -o $@

$(B)/san/%.o: %.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_CFLAGS) $(SANFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(B)/tests/%.o: tests/%.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

# Made afresh each time: `ar r` would keep the members of files that were
# renamed or removed.
$(B)/libnntrain.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# The shared library (`make lib`): the same sources as position-independent
# objects of their own, every symbol hidden but the public nntrain_* ones
# (src/api's objects keep default visibility, and the version script
# src/api/libnntrain.map leaves only nntrain_* global), with the soname
# libnntrain.so.MAJOR; the version comes from include/nntrain.h.
LIB_VERSION := $(shell sed -n 's/^\#define NNTRAIN_VERSION_STRING "\(.*\)"/\1/p' include/nntrain.h)
LIB_MAJOR   := $(firstword $(subst ., ,$(LIB_VERSION)))
LIB_SONAME  := libnntrain.so.$(LIB_MAJOR)
LIB_SO      := $(B)/libnntrain.so.$(LIB_VERSION)
PIC_LIB_OBJ := $(LIB_SRC:%.c=$(B)/pic/%.o)

$(B)/pic/%.o: %.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/pic/src/api/%.o: src/api/%.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(LIB_SO): $(PIC_LIB_OBJ) src/api/libnntrain.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(LIB_SONAME) -Wl,--version-script=src/api/libnntrain.map \
	  -Wl,--no-undefined -o $@ $(PIC_LIB_OBJ) $(LDLIBS_ALL)
	ln -sf libnntrain.so.$(LIB_VERSION) $(B)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(B)/libnntrain.so

$(B)/nntrain.pc: src/api/nntrain.pc.in include/nntrain.h Makefile
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(LIB_VERSION)|g' $< > $@

lib: $(B)/libnntrain.a $(LIB_SO) $(B)/nntrain.pc

# Only nntrain_* leaves the shared library; every global symbol of the
# archive carries the project's prefix.
check-symbols: lib
	sh tests/lib/symbols.sh $(LIB_SO) $(B)/libnntrain.a

$(B)/san/libnntrain.a: $(SAN_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

nntrain: $(MAIN_OBJ) $(B)/libnntrain.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/san/nntrain: $(SAN_MAIN_OBJ) $(B)/san/libnntrain.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(B)/test_nntrain: $(TEST_OBJ) $(B)/libnntrain.a
	$(CC) $(CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL)

$(B)/san/test_nntrain: $(SAN_TEST_OBJ) $(B)/san/libnntrain.a
	$(CC) $(SANFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL)

# --- the default run ----------------------------------------------------------
FMNIST := data/fashion-mnist
FMNIST_FILES := train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
                t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz

data: $(FMNIST)/.complete
$(FMNIST)/.complete: | $(DEPS_STAMP)
	@sh tools/fetch-fashion-mnist.sh $(FMNIST)
	@touch $@

run: nntrain data
	./nntrain configs/default.json
	./nntrain --eval configs/default.json

# --- tests ------------------------------------------------------------------
# Unit tests and command-line tests, first on the normal build, then on the
# AddressSanitizer + UBSan build.  Any failure fails `make check`.
TEST_ENV := LOCPATH=$(CURDIR)/$(LOCALE_DIR) NN_TEST_NEED_LOCALE=1

check: nntrain $(B)/test_nntrain $(B)/san/nntrain $(B)/san/test_nntrain $(LOCALE_DIR)/de_DE.UTF-8 \
       $(ONNX_DEPS_STAMP) lib
	@echo "== includes run downward; nothing below the command line prints == ($$(date +%T))"
	sh tests/layers.sh
	@echo "== unit tests == ($$(date +%T))"
	$(TEST_ENV) $(B)/test_nntrain
	@echo "== command-line tests == ($$(date +%T))"
	sh tests/cli/run.sh ./nntrain
	@echo "== format-3 checkpoints written by nntrain 0.1.0 == ($$(date +%T))"
	sh tests/cli/v3_fixtures.sh ./nntrain
	@echo "== ONNX export checked by onnx and OpenCV == ($$(date +%T))"
	sh tests/onnx/run.sh ./nntrain
	@echo "== mutation test: --gradcheck must catch known mistakes == ($$(date +%T))"
	sh tests/mutation/run.sh .
	@echo "== unit tests under ASan + UBSan == ($$(date +%T))"
	$(TEST_ENV) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(B)/san/test_nntrain
	@echo "== command-line tests under ASan + UBSan == ($$(date +%T))"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/cli/run.sh $(B)/san/nntrain
	@echo "== signals, kills, full disk == ($$(date +%T))"
	sh tests/cli/signals.sh ./nntrain 50
	@echo "== signals, kills, full disk under ASan + UBSan == ($$(date +%T))"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/cli/signals.sh $(B)/san/nntrain 10
	@echo "== valgrind memcheck == ($$(date +%T))"
	sh tests/cli/valgrind.sh ./nntrain
	@echo "== MPI communication layer == ($$(date +%T))"
	$(MAKE) --no-print-directory check-mpi
	@echo "== libnntrain exports only nntrain_*, its archive only nn_*/nntrain_* == ($$(date +%T))"
	$(MAKE) --no-print-directory check-symbols
	@echo "== libnntrain installed: examples/classify.c through pkg-config, as --predict == ($$(date +%T))"
	sh tests/lib/example.sh ./nntrain
	@echo "== fuzzing (about 20 s a harness) == ($$(date +%T))"
	$(MAKE) --no-print-directory fuzz-check
	@echo "== every check passed == ($$(date +%T))"

# The unit tests alone, on the normal build: the quick loop while developing
# (`make unit`); `make check` runs everything.
unit: $(B)/test_nntrain $(LOCALE_DIR)/de_DE.UTF-8
	$(TEST_ENV) $(B)/test_nntrain

# Each mutant of tests/mutation/run.sh applied to a scratch copy of the
# source, rebuilt from this build's objects, and caught by --gradcheck (a
# few seconds; `make check` runs it too).
mutation: nntrain
	sh tests/mutation/run.sh .

# --- MPI build -----------------------------------------------------------------
# nntrain-mpi: the same program built with -DNN_MPI against Open MPI, for
# data-parallel training (src/dist); run alone it behaves like nntrain,
# under `mpirun -np N` its N processes train together.  Its objects live in
# build/mpi/ beside the plain ones, built with the same flags plus MPI's.
# Open MPI (libopenmpi-dev openmpi-bin) is installed only when an MPI target
# is built, so the plain build never needs it.
MPI_APT_PKGS := libopenmpi-dev openmpi-bin
MPI_DEPS_STAMP := $(B)/.deps-mpi-ok
MPI_B := $(B)/mpi
MPI_LIB_OBJ  := $(LIB_SRC:%.c=$(MPI_B)/%.o)
MPI_MAIN_OBJ := $(MAIN_SRC:%.c=$(MPI_B)/%.o)
# MPI's include folders as system headers: warnings in them are not ours,
# and -MMD leaves them out of the dependency files.
MPI_CFLAGS = -DNN_MPI $(patsubst -I%,-isystem %,$(shell pkg-config --cflags ompi-c))
MPI_LIBS   = $(shell pkg-config --libs ompi-c)

.PHONY: nntrain-mpi-deps check-mpi
nntrain-mpi-deps: $(MPI_DEPS_STAMP)
$(MPI_DEPS_STAMP): | $(DEPS_STAMP)
	@if ! pkg-config --exists ompi-c 2>/dev/null || ! command -v mpirun >/dev/null 2>&1; then \
	  echo "installing missing packages: $(MPI_APT_PKGS)"; \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y $(MPI_APT_PKGS) || exit 1; \
	fi
	@touch $@

$(MPI_B)/%.o: %.c Makefile | $(DEPS_STAMP) $(MPI_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ISA_CFLAGS) $(MPI_CFLAGS) -c $< -o $@

$(MPI_B)/libnntrain.a: $(MPI_LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

nntrain-mpi: $(MPI_MAIN_OBJ) $(MPI_B)/libnntrain.a
	$(CC) $(CFLAGS) -o $@ $^ $(MPI_LIBS) $(LDLIBS_ALL)

# tests/mpi: test_dist.c built three ways - against the plain dist.o,
# against the MPI one, and against an MPI one cut into tiny rounds
# (dist-pieces.o) - and run alone and under mpirun by tests/mpi/run.sh.
MPI_TEST_BINS := $(B)/tests/mpi/test_dist $(MPI_B)/tests/mpi/test_dist \
                 $(MPI_B)/tests/mpi/test_dist_pieces

$(B)/tests/mpi/test_dist: tests/mpi/test_dist.c $(B)/src/dist/dist.o $(B)/src/util/error.o \
                          Makefile | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/src/dist/dist.o $(B)/src/util/error.o -lm

$(MPI_B)/tests/mpi/test_dist: tests/mpi/test_dist.c $(MPI_B)/src/dist/dist.o \
                              $(MPI_B)/src/util/error.o Makefile | $(MPI_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -o $@ $< $(MPI_B)/src/dist/dist.o \
	  $(MPI_B)/src/util/error.o $(MPI_LIBS) -lm

$(MPI_B)/tests/mpi/dist-pieces.o: src/dist/dist.c Makefile | $(DEPS_STAMP) $(MPI_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -DNN_DIST_PIECE=4099 -DNN_DIST_BYTES_PIECE=1000 -c $< -o $@

$(MPI_B)/tests/mpi/test_dist_pieces: tests/mpi/test_dist.c $(MPI_B)/tests/mpi/dist-pieces.o \
                                     $(MPI_B)/src/util/error.o Makefile | $(MPI_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -o $@ $< $(MPI_B)/tests/mpi/dist-pieces.o \
	  $(MPI_B)/src/util/error.o $(MPI_LIBS) -lm

# `make bench-mpi`: data-parallel training on this machine beside one process,
# the sums' time, and the scaling model of docs/scaling.md (bench/mpi.py;
# not part of check): writes bench/results-mpi.md.
$(MPI_B)/bench_dist: bench/bench_dist.c $(MPI_B)/src/dist/dist.o $(MPI_B)/src/util/error.o \
                     Makefile | $(MPI_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) -o $@ $< $(MPI_B)/src/dist/dist.o \
	  $(MPI_B)/src/util/error.o $(MPI_LIBS) -lm

.PHONY: bench-mpi
bench-mpi: nntrain nntrain-mpi data $(MPI_B)/bench_dist
	$(BENCH_PY) bench/mpi.py --nntrain ./nntrain --nntrain-mpi ./nntrain-mpi \
	  --bench-dist $(MPI_B)/bench_dist --out bench/results-mpi.md

# Under a minute; `make check` runs it too.
check-mpi: nntrain nntrain-mpi $(MPI_TEST_BINS)
	sh tests/mpi/run.sh $(MPI_TEST_BINS) ./nntrain-mpi
	sh tests/mpi/train.sh ./nntrain ./nntrain-mpi

# --- benchmark ------------------------------------------------------------------
# `make bench`: FMA peak, the dense products beside OpenBLAS, the bf16
# products beside fp32, and training speed and memory beside PyTorch; prints a table and writes bench/results.md.
# OpenBLAS (libopenblas-dev) and PyTorch (python3-torch) are installed for the
# benchmark only when missing; nntrain itself never uses them.  Without them
# their columns are skipped.
BENCH_PY := $(firstword $(wildcard /usr/bin/python3) python3)

bench: nntrain data $(B)/bench_kernels $(B)/bench_bf16 bench-deps
	$(BENCH_PY) bench/run.py --nntrain ./nntrain --kernels $(B)/bench_kernels \
	  --bf16-kernels $(B)/bench_bf16 --torch-python $(BENCH_PY) --out bench/results.md

bench-deps:
	@missing=; \
	dpkg -s libopenblas-dev >/dev/null 2>&1 || missing="$$missing libopenblas-dev"; \
	$(BENCH_PY) -c 'import torch' >/dev/null 2>&1 || missing="$$missing python3-torch"; \
	if [ -n "$$missing" ]; then \
	  echo "installing for the benchmark:$$missing"; \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  { $$SUDO apt-get update && $$SUDO apt-get install -y $$missing; } || \
	    echo "bench: could not install$$missing; its columns will be skipped"; \
	fi

# configs/fashion-mnist-best.json with every kernel family, and each of its
# ingredients taken out (bench/best.py; not part of check; about 25 minutes
# on a 2-core AVX2 machine, 5 each family more; --quick: the families alone).
bench-best: nntrain data
	$(BENCH_PY) bench/best.py --nntrain ./nntrain --out bench/results-best.md

# training on data larger than memory (bench/data.py; not part of check):
# about 13 GB of files under build/, removed afterwards
bench-data: nntrain $(B)/gendata
	@$(BENCH_PY) -c 'import pandas' >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y python3-pandas || \
	    echo "bench-data: could not install python3-pandas; its column will be skipped"; }
	$(BENCH_PY) bench/data.py --nntrain ./nntrain --gendata $(B)/gendata --out bench/results-data.md

$(B)/gendata: bench/gendata.c
	@mkdir -p $(B)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lm

$(B)/bench_kernels: bench/bench_kernels.c bench/bench_util.h $(B)/libnntrain.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libnntrain.a -ldl $(LDLIBS_ALL)

# bf16 products beside fp32 (a table of `make bench`: avx512bf16 and amx
# where the processor has them, else avx2bf16 beside avx2); alone:
# `build/bench_bf16 [THREADS [ROUNDS]]`.
$(B)/bench_bf16: bench/bench_bf16.c bench/bench_util.h $(B)/libnntrain.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libnntrain.a $(LDLIBS_ALL)

# --- install ------------------------------------------------------------------
# The program, its man page, and libnntrain: the archive, the shared library
# with its soname and development links, the header, nntrain.pc (for
# pkg-config, written here with this PREFIX, whatever build/nntrain.pc
# holds) and nntrain(3).  DESTDIR stages the lot.
install: nntrain lib
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include
	install -m 755 nntrain $(DESTDIR)$(PREFIX)/bin/nntrain
	install -m 644 docs/nntrain.1 $(DESTDIR)$(PREFIX)/share/man/man1/nntrain.1
	install -m 644 docs/nntrain.3 $(DESTDIR)$(PREFIX)/share/man/man3/nntrain.3
	install -m 644 include/nntrain.h $(DESTDIR)$(PREFIX)/include/nntrain.h
	install -m 644 $(B)/libnntrain.a $(DESTDIR)$(PREFIX)/lib/libnntrain.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libnntrain.so.$(LIB_VERSION)
	ln -sf libnntrain.so.$(LIB_VERSION) $(DESTDIR)$(PREFIX)/lib/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(PREFIX)/lib/libnntrain.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(LIB_VERSION)|g' src/api/nntrain.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nntrain.pc
	chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/nntrain.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/nntrain $(DESTDIR)$(PREFIX)/share/man/man1/nntrain.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man3/nntrain.3 $(DESTDIR)$(PREFIX)/include/nntrain.h \
	  $(DESTDIR)$(PREFIX)/lib/libnntrain.a $(DESTDIR)$(PREFIX)/lib/libnntrain.so.$(LIB_VERSION) \
	  $(DESTDIR)$(PREFIX)/lib/$(LIB_SONAME) $(DESTDIR)$(PREFIX)/lib/libnntrain.so \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/nntrain.pc

clean:
	rm -rf $(B) nntrain nntrain-mpi

include tests/fuzz/fuzz.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
