# tests/fuzz/fuzz.mk - libFuzzer harnesses for the parsers (included by the
# top Makefile).
#
#   make fuzz         build every harness into build/fuzz/ and run each for
#                     FUZZ_SECONDS (default 60), printing executions per harness
#   make fuzz-check   replay tests/fuzz/regressions/, then run each harness for
#                     FUZZ_CHECK_SECONDS (default 20); any crash, leak, UBSan
#                     report, timeout or out-of-memory fails
#
# Harnesses run one at a time, each on a writable corpus in
# build/fuzz/corpus/<harness>/ (check-corpus/, emptied first, for fuzz-check)
# that starts from the committed seeds in
# tests/fuzz/corpus/<harness>/ (read, never written).  Memory and time are
# capped (-rss_limit_mb=512 -malloc_limit_mb=256, 32 for IDX and NPY, -timeout=10) so an
# allocation sized by what a header claims, or a hang, is a failure.  No
# network is needed once clang is installed.
#
# Include this after the top Makefile defines DEPS_STAMP (its package check),
# so the harnesses are built only once libcjson and zlib are installed.

FUZZ_SECONDS       ?= 60
FUZZ_CHECK_SECONDS ?= 20
FUZZ_CLANG         ?= clang
FUZZ_B             := build/fuzz
FUZZ_SRC_DIR       := tests/fuzz

# One binary per harness; fuzz_set, fuzz_idx_gz and fuzz_csv_gz are
# variants of fuzz_config.c, fuzz_idx.c and fuzz_csv.c (see each file).
FUZZ_HARNESSES := fuzz_config fuzz_set fuzz_idx fuzz_idx_gz fuzz_npy fuzz_csv fuzz_csv_gz \
                  fuzz_checkpoint fuzz_csvcache fuzz_open
FUZZ_BINS      := $(FUZZ_HARNESSES:%=$(FUZZ_B)/%)

# The library the harnesses link is the program's (everything but src/cli,
# $(LIB_SRC) of the top Makefile) built with the fuzzing flags: the parsers
# reach the layer kinds through the checkpoint's architecture, and those the
# kernels.  The instruction-set files get their flags as in the top Makefile.
FUZZ_LIB_SRC := $(LIB_SRC)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_B)/obj/%.o)

FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -std=c17 -fopenmp-simd -Wno-pass-failed -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
               -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(shell pkg-config --cflags libcjson zlib) -MMD -MP
FUZZ_LIBS    = $(shell pkg-config --libs libcjson zlib) -lm -pthread

FUZZ_CLANG_OK := $(FUZZ_B)/.clang-ok
# The packages check (the top Makefile's) when it is there.
FUZZ_DEPS := $(if $(DEPS_STAMP),$(DEPS_STAMP))

.PHONY: fuzz fuzz-check fuzz-build

fuzz-build: $(FUZZ_BINS) $(FUZZ_B)/gen_ckpt_seeds

fuzz: fuzz-build
	@sh $(FUZZ_SRC_DIR)/run.sh run $(FUZZ_SECONDS) $(FUZZ_B) $(FUZZ_HARNESSES)

fuzz-check: fuzz-build
	@sh $(FUZZ_SRC_DIR)/run.sh check $(FUZZ_CHECK_SECONDS) $(FUZZ_B) $(FUZZ_HARNESSES)

# clang with the libFuzzer runtime: probed on a tiny harness, installed with
# apt-get when missing (with sudo when not root), then probed again.
$(FUZZ_CLANG_OK):
	@mkdir -p $(FUZZ_B)
	@probe() { \
	  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }' \
	    > $(FUZZ_B)/probe.c && \
	  $(FUZZ_CLANG) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_B)/probe.c -o $(FUZZ_B)/probe \
	    >/dev/null 2>&1; }; \
	if ! probe; then \
	  echo "installing clang and its fuzzer runtime"; \
	  SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y clang || exit 1; \
	  if ! probe; then \
	    v=$$($(FUZZ_CLANG) -dumpversion | cut -d. -f1); \
	    $$SUDO apt-get install -y libclang-rt-$$v-dev || exit 1; \
	  fi; \
	  probe || { echo "$(FUZZ_CLANG) -fsanitize=fuzzer does not work" >&2; exit 1; }; \
	fi
	@rm -f $(FUZZ_B)/probe.c $(FUZZ_B)/probe
	@touch $@

$(FUZZ_B)/obj/src/kernels/avx2.o: FUZZ_ISA = $(ISA_avx2)
$(FUZZ_B)/obj/src/kernels/avx2bf16.o: FUZZ_ISA = $(ISA_avx2)
$(FUZZ_B)/obj/src/kernels/avx512.o: FUZZ_ISA = $(ISA_avx512)
$(FUZZ_B)/obj/src/kernels/avx512bf16.o: FUZZ_ISA = $(ISA_avx512bf16)
$(FUZZ_B)/obj/src/kernels/amx.o: FUZZ_ISA = $(ISA_amx)

$(FUZZ_B)/obj/%.o: %.c | $(FUZZ_CLANG_OK) $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) $(FUZZ_ISA) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_B)/libnntrain-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# Harness objects: the variants are the same source with one -D.
FUZZ_VARIANT_fuzz_set    := -DFUZZ_SETS=1
FUZZ_VARIANT_fuzz_idx_gz := -DFUZZ_GZIP=1
FUZZ_VARIANT_fuzz_csv_gz := -DFUZZ_GZIP=1
FUZZ_SOURCE_fuzz_set     := fuzz_config
FUZZ_SOURCE_fuzz_idx_gz  := fuzz_idx
FUZZ_SOURCE_fuzz_csv_gz  := fuzz_csv

define FUZZ_HARNESS_RULES
$(FUZZ_B)/obj/$(1).o: $(FUZZ_SRC_DIR)/$(or $(FUZZ_SOURCE_$(1)),$(1)).c | $(FUZZ_CLANG_OK) $(FUZZ_DEPS)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CLANG) $$(FUZZ_CFLAGS) $(FUZZ_VARIANT_$(1)) -fsanitize=fuzzer -c $$< -o $$@
$(FUZZ_B)/$(1): $(FUZZ_B)/obj/$(1).o $(FUZZ_B)/libnntrain-fuzz.a
	$$(FUZZ_CLANG) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(FUZZ_LIBS)
endef
# Writes the checkpoint seeds of the current format (see gen_ckpt_seeds.c).
$(FUZZ_B)/gen_ckpt_seeds: $(FUZZ_B)/obj/gen_ckpt_seeds.o $(FUZZ_B)/libnntrain-fuzz.a
	$(FUZZ_CLANG) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)
$(FUZZ_B)/obj/gen_ckpt_seeds.o: $(FUZZ_SRC_DIR)/gen_ckpt_seeds.c | $(FUZZ_CLANG_OK) $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(foreach h,$(FUZZ_HARNESSES),$(eval $(call FUZZ_HARNESS_RULES,$(h))))

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)
