# hyperllava build. `make` builds bin/hyperllava; `make test` runs every test;
# `make test-cluster` only the three-host cluster test (docs/slurm.md);
# `make demo` runs the demo; `make check` runs the tests under ASan + UBSan.
# Extra include/library paths (a private prefix on a cluster) come from
# HL_CPPFLAGS and HL_LDFLAGS in the environment.

CC      := mpicc
PKGS    := hdf5-serial yaml-0.1 jansson libpng libjpeg libcrypto xlsxwriter zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT     ?= -O2
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Werror -ffp-contract=off -fopenmp \
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

# CUDA objects build whenever nvcc is present.
NVCC    := $(shell command -v nvcc 2>/dev/null)

SRC     := $(filter-out src/cli/main.c,$(shell find src -name '*.c' | sort))
OBJ     := $(SRC:%.c=$(BUILD)/%.o)
CU_SRC  := $(shell find src -name '*.cu' 2>/dev/null | sort)
ifneq ($(NVCC),)
CU_OBJ  := $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
CFLAGS  += -DHL_CUDA
endif
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test test-cluster check demo clean format bench
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
	@$(NVCC) -O2 -Isrc -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhyperllava.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	@$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libhyperllava.a $(LDLIBS)

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh

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

format:
	clang-format -i $$(find src tests/unit -name '*.[ch]')

clean:
	rm -rf build bin

-include $(OBJ:.o=.d) $(BUILD)/src/cli/main.d
