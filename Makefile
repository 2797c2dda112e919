# hyperllava build. `make` builds bin/hyperllava; `make test` runs every test;
# `make test-cluster` only the three-host cluster test (docs/slurm.md);
# `make demo` runs the demo; `make check` runs the tests under ASan + UBSan;
# `make fuzz TARGET=... SECONDS=...` fuzzes one input reader (tests/fuzz).
# Extra include/library paths (a private prefix on a cluster) come from
# HL_CPPFLAGS and HL_LDFLAGS in the environment.

CC      := mpicc
PKGS    := hdf5-serial yaml-0.1 jansson libpng libjpeg libcrypto xlsxwriter zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT     ?= -O2
# WERROR= turns warnings back into warnings (another compiler on a cluster).
WERROR  ?= -Werror
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra $(WERROR) -ffp-contract=off -fopenmp \
           -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc $(PKG_CFLAGS) $(HL_CPPFLAGS) $(SAN)
LDLIBS  := $(PKG_LIBS) $(HL_LDFLAGS) -lm -fopenmp $(SAN)
BUILD   ?= build

# The engine version lives in $(BUILD)/version.h, rewritten only when it
# changes, so the objects that print or record it rebuild exactly then.
GIT_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
VERSION_H := $(BUILD)/version.h
$(shell mkdir -p $(BUILD) && echo '#define HL_VERSION "$(GIT_VERSION)"' >$(VERSION_H).tmp && \
  (cmp -s $(VERSION_H).tmp $(VERSION_H) || mv $(VERSION_H).tmp $(VERSION_H)); rm -f $(VERSION_H).tmp)
CFLAGS  += -I$(BUILD)

comma   := ,
# The CUDA backend builds whenever nvcc is present (NVCC= builds a CPU-only
# binary). CUDA_ARCH lists the compute capabilities to build for; the last
# one also goes in as PTX, which newer GPUs compile when the program starts.
NVCC    := $(shell command -v nvcc 2>/dev/null)
CUDA_ARCH ?= 80 90
CUDA_HOME ?= $(patsubst %/bin/,%,$(dir $(NVCC)))
NVFLAGS := -O2 -std=c++17 -fmad=false -Isrc -I$(BUILD) $(HL_CPPFLAGS) \
           -Xcompiler -Wall,-Wextra$(if $(WERROR),$(comma)-Werror -Werror all-warnings) \
           $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
           -gencode arch=compute_$(lastword $(CUDA_ARCH)),code=compute_$(lastword $(CUDA_ARCH))

SRC     := $(filter-out src/cli/main.c,$(shell find src -name '*.c' | sort))
OBJ     := $(SRC:%.c=$(BUILD)/%.o)
CU_SRC  := $(shell find src -name '*.cu' 2>/dev/null | sort)
ifneq ($(NVCC),)
CU_OBJ  := $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
CFLAGS  += -DHL_CUDA
LDLIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lstdc++
endif
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test test-gpu test-cluster check demo clean format bench fuzz fuzz-replay fuzz-short
all: bin/hyperllava $(TEST_BIN)

deps:
	@tools/setup-deps.sh

bin/hyperllava: $(BUILD)/src/cli/main.o $(BUILD)/libhyperllava.a
	@mkdir -p bin
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/libhyperllava.a: $(OBJ) $(CU_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	@echo "  NVCC  $<"
	@$(NVCC) $(NVFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhyperllava.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libhyperllava.a $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh

# The CUDA backend against the CPU on this machine's GPU (tests/gpu/run.sh).
# No deps step: GPU machines often lack apt (tools/gpu-check.sh brings what
# the build needs).
test-gpu: all
	@tests/gpu/run.sh

test-cluster: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh cluster

check: deps
	@$(MAKE) --no-print-directory BUILD=build/san OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  build/san/libhyperllava.a
	@$(MAKE) --no-print-directory BUILD=build/san OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  HL_BIN=build/san/hyperllava build/san/hyperllava $(TEST_BIN:$(BUILD)/%=build/san/%)
	@HL_BIN=build/san/hyperllava HL_TESTBIN=build/san/tests ASAN_OPTIONS=detect_leaks=0 tests/run.sh

build/san/hyperllava: build/san/src/cli/main.o build/san/libhyperllava.a
	$(CC) -o $@ $^ $(LDLIBS)

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

bench: all
	@bench/run.sh

# Fuzz targets (tests/fuzz; docs/errors.md, "Fuzzing"): each input reader
# built with ASan + UBSan twice: with $(FUZZ_CC) and tests/fuzz/driver.c, a
# replay of the committed corpus (fuzz-replay, run by the tests); with clang,
# a libFuzzer binary (fuzz-short: FUZZ_SHORT_S seconds a target, run by the
# tests when clang is there; fuzz: one TARGET for SECONDS, growing
# build/fuzz/corpus/TARGET from the committed seeds). Only the readers'
# sources are compiled: no MPI, no kernels.
FUZZ_TARGETS := yaml questions image tokenizer weights
FUZZ_SRC := src/util/check.c src/util/dtype.c src/util/layout.c src/util/path.c \
  src/util/strbuf.c src/util/atomic.c src/util/base64.c src/util/utf8.c \
  src/run/config.c src/run/job.c src/run/yaml_doc.c src/model/config.c \
  src/eval/bench.c src/eval/jsonio.c src/eval/questions.c src/eval/tsv.c \
  src/text/pytext.c src/text/pytext_tables.c src/text/tokenizer.c \
  src/io/weights.c src/io/image.c src/io/clip_image.c src/io/resample.c
FUZZ_CC    ?= gcc
FUZZ_CLANG ?= clang
FUZZ_SAN   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_FLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -fopenmp -D_POSIX_C_SOURCE=200809L \
  -D_DEFAULT_SOURCE -Isrc -I$(BUILD) $(PKG_CFLAGS) $(HL_CPPFLAGS)
FUZZ_LINK  := -Wl,--wrap=exit,--wrap=hl_fail_at $(PKG_LIBS) $(HL_LDFLAGS) -lm -fopenmp
FUZZ_SHORT_S ?= 10
FUZZ_SHORT_SEED ?= 1
TARGET  ?= yaml
SECONDS ?= 600
SEED    ?=
FUZZ_REPLAY := $(FUZZ_TARGETS:%=build/fuzz/replay/fuzz_%)
FUZZ_LIBFUZZER := $(FUZZ_TARGETS:%=build/fuzz/libfuzzer/fuzz_%)
.SECONDARY: $(FUZZ_SRC:%.c=build/fuzz/replay/%.o) $(FUZZ_SRC:%.c=build/fuzz/libfuzzer/%.o)

build/fuzz/replay/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (fuzz replay)"
	@$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_SAN) -MMD -MP -c $< -o $@

build/fuzz/libfuzzer/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (libFuzzer)"
	@$(FUZZ_CLANG) $(FUZZ_FLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c tests/fuzz/fuzz.h \
    $(FUZZ_SRC:%.c=build/fuzz/replay/%.o)
	@$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_SAN) -o $@ $< tests/fuzz/driver.c \
	  $(FUZZ_SRC:%.c=build/fuzz/replay/%.o) $(FUZZ_LINK)

build/fuzz/libfuzzer/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h \
    $(FUZZ_SRC:%.c=build/fuzz/libfuzzer/%.o)
	@$(FUZZ_CLANG) $(FUZZ_FLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_SRC:%.c=build/fuzz/libfuzzer/%.o) $(FUZZ_LINK)

# Every committed input through every target, once.
fuzz-replay: $(FUZZ_REPLAY)
	@for t in $(FUZZ_TARGETS); do \
	  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=2048 \
	    build/fuzz/replay/fuzz_$$t tests/fuzz/corpus/$$t 2>build/fuzz/replay/$$t.log \
	    >build/fuzz/replay/$$t.out || { tail -n 40 build/fuzz/replay/$$t.log; \
	    echo "fuzz-replay: $$t crashed"; exit 1; }; \
	  echo "fuzz-replay: $$t: $$(cat build/fuzz/replay/$$t.out)"; done

# A short libFuzzer run of every target (nothing without clang).
fuzz-short:
	@if echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' | \
	    $(FUZZ_CLANG) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then \
	  $(MAKE) --no-print-directory $(FUZZ_LIBFUZZER) || exit 1; \
	  for t in $(FUZZ_TARGETS); do \
	    $(MAKE) --no-print-directory fuzz TARGET=$$t SECONDS=$(FUZZ_SHORT_S) \
	      SEED=$(FUZZ_SHORT_SEED) || exit 1; done; \
	else echo "fuzz-short: clang with libFuzzer not found: only the replay ran"; fi

# One target for SECONDS (SEED= fixes libFuzzer's seed; empty: a random one);
# new inputs go to build/fuzz/corpus/TARGET, a crash
# to build/fuzz/crash-*: fix it and commit the input to tests/fuzz/corpus/TARGET.
fuzz: build/fuzz/libfuzzer/fuzz_$(TARGET)
	@mkdir -p build/fuzz/corpus/$(TARGET)
	@ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=2048 \
	  build/fuzz/libfuzzer/fuzz_$(TARGET) -fork=1 -ignore_ooms=1 -max_total_time=$(SECONDS) \
	  $(if $(SEED),-seed=$(SEED)) -rss_limit_mb=3072 -timeout=20 -close_fd_mask=3 \
	  -artifact_prefix=build/fuzz/crash-$(TARGET)- \
	  build/fuzz/corpus/$(TARGET) tests/fuzz/corpus/$(TARGET) >build/fuzz/$(TARGET).log 2>&1; \
	if grep -q "ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error\|internal error" \
	    build/fuzz/$(TARGET).log; then grep -B5 -A40 -m1 "ERROR\|runtime error\|internal error" \
	    build/fuzz/$(TARGET).log; echo "fuzz: $(TARGET) crashed (build/fuzz/crash-$(TARGET)-*)"; \
	    exit 1; fi
	@echo "fuzz: $(TARGET): $(SECONDS) s, $$(ls build/fuzz/corpus/$(TARGET) | wc -l) inputs in" \
	  "build/fuzz/corpus/$(TARGET), $$(grep -o 'cov: [0-9]*' build/fuzz/$(TARGET).log | tail -n 1)," \
	  "$$(grep -o 'oom/timeout/crash: [0-9/]*' build/fuzz/$(TARGET).log | tail -n 1)"

format:
	clang-format -i $$(find src tests/unit tests/fuzz -name '*.[ch]')

clean:
	rm -rf build bin

# `make print-VAR` prints a variable (the tests link a CPU-only binary with
# `make NVCC= print-LDLIBS`).
print-%:
	@echo $($*)

-include $(OBJ:.o=.d) $(CU_OBJ:.o=.d) $(BUILD)/src/cli/main.d
-include $(wildcard build/fuzz/replay/src/*/*.d build/fuzz/libfuzzer/src/*/*.d)
