# nndl — `make` builds ./nndl, `make test` runs every CUnit suite, `make bench` the layer table.
#
# CUDA: .cu files are compiled by the host C++ compiler and run on the SIMT host
# (cuda/simt/), so every kernel is exercised without a GPU. When nvcc is present, `make` also
# compiles every .cu with nvcc to prove the same source builds for the GPU. `make CUDA=1 test`
# builds the .cu files with nvcc and runs the suites on a real GPU (build tree build-cuda/).

CC       ?= gcc
CXX      ?= g++
CUDA     ?= 0
NVCC     ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# OpenBLAS's OpenMP build: its threads and the CPU backend's OpenMP loops share one pool, and a
# sgemm called inside a parallel loop runs single-threaded instead of oversubscribing the cores.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BLAS_INC := /usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIB := /usr/lib/$(MULTIARCH)/openblas-openmp
# oneDNN (libdnnl-dev): the CPU backend's matrix products (cpu/cpu_gemm.h), much faster than
# OpenBLAS's on a small batch's thin shapes. On when dnnl.h is found, or DNNL=1 / DNNL=0; without
# it every product is OpenBLAS's.
DNNL     ?= $(if $(wildcard /usr/include/dnnl.h),1,0)
DNNL_LIBS := $(if $(filter 1,$(DNNL)),-ldnnl)
OPT      ?= -O3 -g
# Floors, lowest first: core (table, geometry, RNG, errors; dist/, the process group's
# implementations) < data, cpu, cuda (devices) < net
# (spec, layer kinds, model, solver, checkpoints) < check (device vs reference) < api (the C
# library's public nndl.h) < cli, bench (the program). A file includes only its own floor and
# those below; tests/ sees everything.
INCLUDES := -Icore -Idata -Icpu -Icpu/reference -Icuda -Inet -Inet/layers -Icheck -Iapi -Icli -Ibench -Itests \
            -Itests/support \
            -I$(BLAS_INC)
# -fPIC: the same objects make libnndl.so; -fvisibility=hidden: the library exports only what
# api/nndl.h marks NNDL_API (the nndl_ functions), not the internal names.
# -fno-trapping-math: loops with selects (relu masks, max pooling, GELU) vectorise only when the
# compiler may evaluate both sides of a select; nndl never reads floating-point exception flags.
# Neither flag reorders arithmetic, so results are unchanged.
CFLAGS   := $(OPT) -std=c11 -D_GNU_SOURCE -fopenmp -fno-math-errno -fno-trapping-math -fPIC -fvisibility=hidden -Wall -Wextra -MMD -MP \
            $(INCLUDES)
CFLAGS   += $(if $(filter 1,$(DNNL)),-DNNDL_DNNL)
CXXFLAGS := $(OPT) -std=c++17 -fopenmp -fPIC -fvisibility=hidden -Wall -Wextra -MMD -MP -pthread $(INCLUDES)
# GPU code for current data-centre GPUs (A100: 80, H100/H200: 90) plus PTX of the last one, which
# the driver compiles for newer GPUs; CUDA_ARCH="86 89" overrides. No GPU is needed to build.
CUDA_ARCH ?= 80 90
NVCC_ARCH ?= $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
             -gencode arch=compute_$(lastword $(CUDA_ARCH)),code=compute_$(lastword $(CUDA_ARCH))
CUDA_ARCHS_TEXT := $(foreach a,$(CUDA_ARCH),sm_$(a)) + PTX compute_$(lastword $(CUDA_ARCH))
NVFLAGS  := -O2 -std=c++17 $(NVCC_ARCH) -DNNDL_CUDA_ARCHS='"$(CUDA_ARCHS_TEXT)"' \
            -Xcompiler -Wall,-Wextra,-fopenmp,-fPIC,-fvisibility=hidden $(INCLUDES)
LDLIBS   := -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas $(DNNL_LIBS) -lstb -lcjson -lz -lm -lpthread

# MPI (data-parallel training, `mpirun -np N ./nndl train`): on when mpicc is found, or MPI=1 /
# MPI=0. Only dist/comm_mpi.c includes mpi.h; its flags come from the MPI compiler wrapper.
MPICC    ?= mpicc
MPI      ?= $(if $(shell command -v $(MPICC) 2>/dev/null),1,0)
ifeq ($(MPI),1)
MPI_CFLAGS := $(shell $(MPICC) --showme:compile 2>/dev/null || $(MPICC) -compile-info 2>/dev/null | cut -d' ' -f2-)
MPI_LIBS   := $(shell $(MPICC) --showme:link 2>/dev/null || $(MPICC) -link-info 2>/dev/null | cut -d' ' -f2-)
COMM_SRC   := dist/comm_mpi.c
else
COMM_SRC   := dist/comm_unavailable.c
endif
# NCCL (the cuda backend's all-reduce on device memory) wherever nvcc finds nccl.h: the CUDA
# toolkit's own copy or a system one. Without it a CUDA=1 build stages gradients through host
# memory for MPI.
NCCL_INC := $(firstword $(wildcard $(CUDA_HOME)/include/nccl.h /usr/include/nccl.h /usr/local/include/nccl.h))
NCCL_LIB := $(patsubst %/,%,$(dir $(firstword $(wildcard $(CUDA_HOME)/lib64/libnccl.so $(CUDA_HOME)/lib/libnccl.so \
              /usr/lib/$(MULTIARCH)/libnccl.so /usr/local/lib/libnccl.so))))
ifneq ($(NCCL_INC),)
NVFLAGS  += -DNNDL_NCCL -I$(dir $(NCCL_INC))
endif

# cuDNN (the cuda backend's convolutions, cuda/conv_cudnn.cu) wherever nvcc finds cudnn.h; without it
# (and on the SIMT host) the convolutions are k_conv.cu's im2col + cuBLAS. CUDNN=0 leaves it out.
CUDNN    ?= 1
CUDNN_INC := $(if $(filter 1,$(CUDNN)),$(firstword $(wildcard $(CUDA_HOME)/include/cudnn.h /usr/include/cudnn.h \
               /usr/include/$(MULTIARCH)/cudnn.h)))
CUDNN_LIB := $(patsubst %/,%,$(dir $(firstword $(wildcard $(CUDA_HOME)/lib64/libcudnn.so $(CUDA_HOME)/lib/libcudnn.so \
               /usr/lib/$(MULTIARCH)/libcudnn.so))))
ifneq ($(CUDNN_INC),)
NVFLAGS  += -DNNDL_CUDNN -I$(dir $(CUDNN_INC))
endif

ifeq ($(CUDA),1)
BUILD    ?= build-cuda
BUILD_FACTS := -DNNDL_BUILD_CUDA=1 -DNNDL_CUDA_ARCHS='"$(CUDA_ARCHS_TEXT)"'
LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcublas
ifneq ($(NCCL_INC),)
LDLIBS   += -L$(NCCL_LIB) -Wl,-rpath,$(NCCL_LIB) -lnccl
endif
ifneq ($(CUDNN_INC),)
LDLIBS   += -L$(CUDNN_LIB) -Wl,-rpath,$(CUDNN_LIB) -lcudnn
endif
else
BUILD    ?= build
BUILD_FACTS := -DNNDL_BUILD_CUDA=0
endif

# --- sources -----------------------------------------------------------------------------------
MAIN_SRC   := cli/nndl_main.c
CLI_SRC    := $(filter-out $(MAIN_SRC),$(wildcard cli/*.c))
LIB_SRC    := $(wildcard core/*.c data/*.c cpu/*.c cpu/reference/*.c net/*.c net/layers/*.c check/*.c api/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
TEST_SRC   := $(wildcard tests/*.c tests/support/*.c)
CUDA_SRC   := $(wildcard cuda/*.cu)
TEST_CU    := $(wildcard tests/cuda/*.cu)
SIMT_SRC   := $(wildcard cuda/simt/*.cpp)
ALL_CU     := $(CUDA_SRC) $(TEST_CU)

obj = $(patsubst %,$(BUILD)/%.o,$(1))
# The library holds everything device-independent; the "cuda" driver (cuda_driver in
# core/backend_registry.c's list) is linked beside it, exactly one definition per binary, chosen
# here and not by link order:
#   CUDA=1       ./nndl and the tests: the CUDA backend built by nvcc (runs on the GPU).
#   plain make   ./nndl: cuda/cuda_unavailable.c, so `--device cuda` says "built without CUDA";
#                the tests: the same backend sources built for the SIMT host (cuda/simt/), so
#                cpu-vs-cuda and the kernel checks run on every machine.
LIB := $(BUILD)/libnndl.a
ifeq ($(CUDA),1)
PROGRAM_DEVICE := $(call obj,$(CUDA_SRC))
TEST_DEVICE    := $(call obj,$(CUDA_SRC) $(TEST_CU))
else
PROGRAM_DEVICE := $(call obj,cuda/cuda_unavailable.c)
TEST_DEVICE    := $(call obj,$(CUDA_SRC) $(SIMT_SRC) $(TEST_CU))
endif

# The process group: MPI's, or the stub that says how to build with MPI (core/comm.h).
COMM_OBJ := $(call obj,$(COMM_SRC))
$(BUILD)/dist/comm_mpi.c.o: CFLAGS += $(MPI_CFLAGS)
LDLIBS   += $(if $(filter 1,$(MPI)),$(MPI_LIBS))

# The program; sanitizer builds put theirs in their own tree instead of replacing ./nndl.
PROGRAM ?= nndl

.PHONY: all test bench clean asan tsan nvcc-check cifar10 fuzz fuzz-smoke install library example-check simt
all: $(PROGRAM) nvcc-check

# Objects are rebuilt when the compile flags change (make alone only sees sources), so a tree
# built before a flag was added (-fPIC for the shared library) does not mix old objects in.
FLAGS_STAMP := $(BUILD)/compile-flags
$(shell mkdir -p $(BUILD) && echo '$(CC) $(CFLAGS) $(CXX) $(CXXFLAGS)' | cmp -s - $(FLAGS_STAMP) || \
        echo '$(CC) $(CFLAGS) $(CXX) $(CXXFLAGS)' > $(FLAGS_STAMP))

$(BUILD)/%.c.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.cpp.o: %.cpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

ifeq ($(CUDA),1)
$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@
else
$(BUILD)/%.cu.o: %.cu $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -DNNDL_SIMT_HOST -x c++ -c $< -o $@
endif

# --version and `nndl check` say how this binary was built.
$(BUILD)/cli/build_info.c.o: CFLAGS += $(BUILD_FACTS) -DNNDL_BUILD_NCCL=$(if $(NCCL_INC),1,0) \
    -DNNDL_BUILD_CUDNN=$(if $(CUDNN_INC),1,0)

$(LIB): $(call obj,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^

$(PROGRAM): $(call obj,$(MAIN_SRC) $(CLI_SRC) $(BENCH_SRC)) $(PROGRAM_DEVICE) $(COMM_OBJ) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_nndl: $(call obj,$(TEST_SRC) $(CLI_SRC)) $(TEST_DEVICE) $(COMM_OBJ) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $^ -lcunit $(LDLIBS)

# The program with its "cuda" device on the SIMT host (plain builds only): `--device cuda` runs
# the CUDA backend's kernels on the CPU, so that `build/nndl-simt bench train cuda` prints what a
# training step asks of the runtime (counts, no timings) on machines without a GPU.
ifneq ($(CUDA),1)
simt: $(BUILD)/nndl-simt
$(BUILD)/nndl-simt: $(call obj,$(MAIN_SRC) $(CLI_SRC) $(BENCH_SRC) $(CUDA_SRC) $(SIMT_SRC)) $(COMM_OBJ) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)
endif

# The tests run the program too (command-line refusals), so it is built first; then the
# library is installed into a temporary prefix and the example built against it (pkg-config).
# (Sanitizer builds skip the example: their library would need the sanitizer runtime loaded first.)
EXAMPLE_CHECK ?= 1
# TEST_SUITES: arguments for the test binary ("NAME" runs only matching suites, "-NAME" leaves them out).
TEST_SUITES ?=
test: $(BUILD)/test_nndl $(PROGRAM) nvcc-check
	NNDL_PROGRAM=./$(PROGRAM) ./$(BUILD)/test_nndl $(TEST_SUITES)
	$(if $(filter 1,$(EXAMPLE_CHECK)),$(MAKE) --no-print-directory example-check)

# --- the C library: libnndl.so and libnndl.a with api/nndl.h, nndl.pc ------------------------
# Both hold the library objects and this build's "cuda" driver. The static archive is one
# relocatable object whose hidden symbols are made local, so it too shows only nndl_ names.
PREFIX   ?= /usr/local
SO       := $(BUILD)/lib/libnndl.so
ARCHIVE  := $(BUILD)/lib/libnndl.a
LIB_OBJ  := $(call obj,$(LIB_SRC)) $(PROGRAM_DEVICE)
PC_LIBS  := -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lopenblas $(DNNL_LIBS) -lstb -lcjson -lz -lm -lpthread -lgomp
# (the optional libraries' flags are variables: the commas of -Wl,-rpath written inside $(if)
# would split its arguments)
PC_NCCL  := -L$(NCCL_LIB) -Wl,-rpath,$(NCCL_LIB) -lnccl
PC_CUDNN := -L$(CUDNN_LIB) -Wl,-rpath,$(CUDNN_LIB) -lcudnn
ifeq ($(CUDA),1)
PC_LIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcublas -lstdc++ \
            $(if $(NCCL_INC),$(PC_NCCL)) $(if $(CUDNN_INC),$(PC_CUDNN))
endif

library: $(SO) $(ARCHIVE)

$(SO): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) -shared -fopenmp -Wl,-soname,libnndl.so -Wl,--no-undefined -o $@ $^ $(LDLIBS)

$(ARCHIVE): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	ld -r -o $(BUILD)/lib/nndl-all.o $^
	objcopy --localize-hidden $(BUILD)/lib/nndl-all.o
	rm -f $@ && ar rcs $@ $(BUILD)/lib/nndl-all.o

install: library
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 api/nndl.h $(DESTDIR)$(PREFIX)/include/nndl.h
	install -m 755 $(SO) $(DESTDIR)$(PREFIX)/lib/libnndl.so
	install -m 644 $(ARCHIVE) $(DESTDIR)$(PREFIX)/lib/libnndl.a
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	    'Name: nndl' 'Description: convolutional networks in C: train, predict, safetensors weights' \
	    'Version: $(shell sed -n 's/^#define NNDL_VERSION "\(.*\)"/\1/p' core/version.h)' \
	    'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lnndl' \
	    'Libs.private: $(PC_LIBS)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nndl.pc

# The example against an installed tree, shared and static, and the exported names checked:
# anything defined and global that is not nndl_ (besides the linker's own) fails.
LINKER_SYMBOLS := ^(_init|_fini|_edata|_end|__bss_start)$$
example-check: library
	@set -e; tmp=$$(mktemp -d /tmp/nndl_install_XXXXXX); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX=$$tmp >/dev/null; \
	export PKG_CONFIG_PATH=$$tmp/lib/pkgconfig; \
	$(CC) -std=c11 -Wall -Wextra -Werror -o $$tmp/classify examples/classify.c $$(pkg-config --cflags --libs nndl); \
	$(CC) -std=c11 -Wall -Wextra -Werror -o $$tmp/classify-static examples/classify.c $$(pkg-config --cflags nndl) \
	    $$tmp/lib/libnndl.a $$(pkg-config --static --libs nndl | sed 's/ -lnndl / /'); \
	$$tmp/classify $$tmp/model.safetensors; \
	$$tmp/classify-static $$tmp/model2.safetensors; \
	bad=$$(nm -D --defined-only $$tmp/lib/libnndl.so | awk '{print $$3}' | grep -v '^nndl_' | grep -Ev '$(LINKER_SYMBOLS)' || true); \
	bad="$$bad$$(nm -g --defined-only $$tmp/lib/libnndl.a | awk 'NF==3 {print $$3}' | grep -v '^nndl_' || true)"; \
	if [ -n "$$bad" ]; then echo "libnndl exports names without the nndl_ prefix:"; echo "$$bad"; exit 1; fi; \
	echo "example-check: installed, example built (shared and static via pkg-config) and run; only nndl_ symbols exported"

bench: nndl
	./nndl bench layers
	./nndl bench train

# Downloads the official CIFAR-10 binary archive (md5-checked) into data/cifar-10-batches-bin.
cifar10:
	bash data/fetch_cifar10.sh data

# Every .cu must also build with nvcc, unchanged; checked whenever nvcc is installed.
NVCC_CHECK_OBJ := $(patsubst %,$(BUILD)/nvcc-check/%.o,$(ALL_CU))
ifneq ($(NVCC),)
ifneq ($(CUDA),1)
nvcc-check: $(NVCC_CHECK_OBJ)
$(BUILD)/nvcc-check/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@
endif
else
nvcc-check:
	@echo "nvcc not found: skipping the nvcc build check of the .cu files"
endif

# Sanitizers over the whole test suite, each in its own build tree.
# The whole-model SIMT suites (two devices trained side by side for epochs) are left out here:
# every kernel they run is also run alone under the sanitizers by "cuda backend vs reference" and
# "kernels on the SIMT host", and under ASan these suites alone would take most of CI's time.
# DNNL=0: this build runs every product on OpenBLAS, so the suites cover both libraries of
# cpu/cpu_gemm.h (`make test`, oneDNN's where it is installed) at no extra cost.
# -fno-sanitize-recover: undefined behaviour stops the program, so a test that meets it fails
# (UBSan's default prints a report and goes on, which no test would notice); its exit codes are
# ones no nndl command uses, so a test expecting exit 1 cannot take a sanitizer's stop for it.
ASAN_SKIP := "-cuda vs cpu" "-cuda device path" "-cuda fused"
asan:
	UBSAN_OPTIONS=print_stacktrace=1:exitcode=86 ASAN_OPTIONS=exitcode=87 $(MAKE) BUILD=build-asan PROGRAM=build-asan/nndl DNNL=0 \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" NVCC= \
	    EXAMPLE_CHECK=0 TEST_SUITES='$(ASAN_SKIP)' test
# ThreadSanitizer watches the threads of each SIMT block for data races. OpenMP runs on one
# thread here: libgomp is not instrumented, so TSan cannot see its barriers and would report
# every parallel loop (the CPU backend's, OpenBLAS's) as a race.
tsan:
	OMP_NUM_THREADS=1 $(MAKE) BUILD=build-tsan PROGRAM=build-tsan/nndl OPT="-O1 -g -fsanitize=thread" \
	    NVCC= EXAMPLE_CHECK=0 test

# --- fuzzing (clang's libFuzzer; not part of `make test`, and not needed by CI) ----------------
# One libFuzzer binary per fuzz/fuzz_<target>.c, built in build-fuzz/ with the library sources
# compiled for coverage and ASan/UBSan. `make fuzz` runs each target for FUZZ_SECONDS over a
# working corpus, build-fuzz/corpus/<target>, which grows from run to run; the committed seeds in
# fuzz/corpus/<target> are only read. Crashes land in build-fuzz/artifacts/. One target:
# `make fuzz-run-<target>`; FUZZ_ARGS adds libFuzzer flags (e.g. -runs=10000000 FUZZ_SECONDS=0).
# `make fuzz-smoke` replays the seeds once, without mutating them (a few seconds).
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# No -fopenmp: the targets run one thread, and clang's OpenMP runtime (libomp) would sit beside
# the libgomp that OpenBLAS loads; the omp_* calls link against libgomp.
FUZZ_CFLAGS  := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -std=c11 -D_GNU_SOURCE \
                -Wall -Wextra -Wno-source-uses-openmp -MMD -MP $(INCLUDES) -Ifuzz
# (-O1 does not vectorize every "omp simd" loop; clang says so for each, which is no defect)
FUZZ_CFLAGS  += -Wno-pass-failed
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_LIB_SRC := $(LIB_SRC) cuda/cuda_unavailable.c \
                fuzz/scratch.c
FUZZ_LIB     := $(FUZZ_BUILD)/libnndl-fuzz.a
# Inputs no longer than a spec may be (the parser's known deep-nesting recursion stays shallow),
# a small checkpoint, and a few CIFAR-10 records.
FUZZ_OPTS_model_spec := -max_len=1023
FUZZ_OPTS_checkpoint := -max_len=8192
FUZZ_OPTS_cifar10    := -max_len=8192
FUZZ_OPTS_safetensors := -max_len=8192
# The CIFAR-10 reader's per-pixel loops would spend most of each execution in comparison
# tracing (libFuzzer's hints for magic values, of which that file has none but the label range).
$(FUZZ_BUILD)/data/cifar10.c.o: FUZZ_CFLAGS += -fno-sanitize-coverage=trace-cmp
# The checkpoint seed is written by the current code, so it follows the checkpoint format.
FUZZ_SEED_checkpoint := $(FUZZ_BUILD)/seeds/checkpoint/valid.ckpt

$(FUZZ_BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(patsubst %,$(FUZZ_BUILD)/%.o,$(FUZZ_LIB_SRC))
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.c.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) -lgomp

$(FUZZ_BUILD)/gen_checkpoint_seed: $(FUZZ_BUILD)/fuzz/gen_checkpoint_seed.c.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(LDLIBS) -lgomp

$(FUZZ_SEED_checkpoint): $(FUZZ_BUILD)/gen_checkpoint_seed
	@mkdir -p $(dir $@)
	OMP_NUM_THREADS=1 ./$< $@

fuzz-run-checkpoint fuzz-replay-checkpoint: $(FUZZ_SEED_checkpoint)

# Kept: pattern-rule intermediates would otherwise be deleted after each run.
.SECONDARY: $(patsubst %,$(FUZZ_BUILD)/%.o,$(wildcard fuzz/*.c)) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# Not .PHONY: phony targets skip the pattern rules these are built by.
fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts
	OMP_NUM_THREADS=1 ./$< $(FUZZ_OPTS_$*) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$*- $(FUZZ_ARGS) \
	    $(FUZZ_BUILD)/corpus/$* fuzz/corpus/$* $(dir $(FUZZ_SEED_$*))

fuzz-replay-%: $(FUZZ_BUILD)/fuzz_%
	OMP_NUM_THREADS=1 ./$< $(FUZZ_OPTS_$*) -runs=0 fuzz/corpus/$* $(dir $(FUZZ_SEED_$*))

# One target at a time: they share the machine with nothing else of theirs.
fuzz:
	@for t in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-run-$$t || exit 1; done

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-replay-$$t || exit 1; done

clean:
	rm -rf build build-cuda build-asan build-tsan build-fuzz nndl

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
