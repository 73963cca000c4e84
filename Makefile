# nndl — `make` builds ./nndl, `make test` runs every CUnit suite, `make bench` the layer table.
# CUDA is optional: see the cuda section below.

CC      ?= gcc
BUILD   := build
INCLUDES := -Icommon -Icpu -Icpu/reference -Idata -Icuda
OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -MMD -MP $(INCLUDES)
LDLIBS  := -lopenblas -lm -lpthread

# --- sources -----------------------------------------------------------------------------------
MAIN_SRC  := common/nndl_main.c
LIB_SRC   := $(filter-out $(MAIN_SRC),$(wildcard common/*.c cpu/*.c cpu/reference/*.c data/*.c))
BENCH_SRC := $(wildcard bench/*.c)
TEST_SRC  := $(wildcard tests/*.c)
CUDA_SRC  := cuda/cuda_unavailable.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ   := $(call obj,$(LIB_SRC) $(CUDA_SRC))
LIB       := $(BUILD)/libnndl.a

.PHONY: all test bench clean asan
all: nndl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	ar rcs $@ $^

nndl: $(call obj,$(MAIN_SRC) $(BENCH_SRC)) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_nndl: $(call obj,$(TEST_SRC)) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ -lcunit $(LDLIBS)

test: $(BUILD)/test_nndl
	./$(BUILD)/test_nndl

bench: nndl
	./nndl bench layers

# Address + undefined-behaviour sanitizers over the whole test suite, in a separate build tree.
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" test

clean:
	rm -rf $(BUILD) build-asan nndl

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
