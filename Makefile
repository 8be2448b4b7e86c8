# Thin wrapper over CMake. Targets:
#   make deps        install missing Debian packages (idempotent; root or sudo) and
#                    the harness CLIs of tests/e2e from npm
#   make             build (RelWithDebInfo: -O2 -g), ccache when present
#   make test        deps + build + every test through ctest + 10 s of each fuzz target
#   make run         deps + build + reins serve on the examples (var/ holds log and tokens)
#   make demo        deps + build + the example sessions through `reins eval`
#   make bench       deps + build + benchmarks (figures as `name value unit` lines)
#   make soak        deps + build + an hour of steady load on reins serve, RSS each
#                    minute (SOAK_MINUTES, SOAK_RATE)
#   make fuzz        deps + the libFuzzer targets (tests/fuzz/) built with clang in build-fuzz/,
#                    each run for FUZZ_SECONDS (600); `make fuzz-smoke`: 10 seconds each
#   make SAN=1 ...   the same in an ASan+UBSan build (build-san/)
#   make format      clang-format every source file

SAN ?= 0
JOBS ?= $(shell nproc)
ifeq ($(SAN),1)
BUILD_DIR ?= build-san
CMAKE_FLAGS += -DREINS_SANITIZE=ON
else
BUILD_DIR ?= build
endif

# Debian packages the build and tests need. `make deps` installs what is missing.
DEB_PACKAGES := build-essential cmake pkg-config ccache sqlite3 curl jq time \
  liblua5.4-dev libre2-dev libyaml-cpp-dev libsqlite3-dev nlohmann-json3-dev \
  libboost-dev catch2 libcli11-dev libssl-dev libbenchmark-dev gnuplot-nox \
  clang-14 libclang-rt-14-dev

E2E_DIR := tests/e2e

CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
CMAKE_FLAGS += -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE)
endif

.PHONY: all build deps test run demo bench soak format clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" -ne 0 ] && sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi
	@# The harness CLIs the end-to-end tests drive, pinned by tests/e2e/package-lock.json.
	@if [ ! -f $(E2E_DIR)/node_modules/.package-lock.json ] || \
	    [ $(E2E_DIR)/package-lock.json -nt $(E2E_DIR)/node_modules/.package-lock.json ]; then \
	  command -v npm >/dev/null || { echo "deps: npm (Node.js 20 or newer) is needed for tests/e2e"; exit 1; }; \
	  npm ci --prefix $(E2E_DIR) --no-audit --no-fund --loglevel=error; \
	else echo "deps: harness CLIs present ($(E2E_DIR)/node_modules)"; fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps
	$(MAKE) build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
ifeq ($(SAN),0)
	@# A short run of every fuzz target (its own clang build, ASan+UBSan).
	$(MAKE) fuzz-smoke
endif

# The server on the examples (examples/server.yaml): log and tokens under var/.
run: deps
	$(MAKE) build
	$(BUILD_DIR)/cli/reins serve --config examples/server.yaml

# The example sessions through the example policies, as decision tables.
demo: deps
	$(MAKE) build
	REINS=$(BUILD_DIR)/cli/reins ./examples/demo.sh

bench: deps
	$(MAKE) build
	./bench/run.sh $(BUILD_DIR)

SOAK_MINUTES ?= 60
SOAK_RATE ?= 1000
soak: deps
	$(MAKE) build
	./bench/soak.sh $(BUILD_DIR) $(SOAK_MINUTES) $(SOAK_RATE)

# libFuzzer targets (tests/fuzz/README.md): their own clang build, never the
# g++ one. Runs one target at a time; crashes land in build-fuzz/fuzz-work/.
FUZZ_DIR := build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREINS_FUZZ=ON
ifneq ($(CCACHE),)
FUZZ_CMAKE_FLAGS += -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE)
endif
.PHONY: fuzz fuzz-smoke fuzz-build

$(FUZZ_DIR)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) $(FUZZ_CMAKE_FLAGS)

fuzz-build: $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j $(JOBS)

fuzz: deps
	$(MAKE) fuzz-build
	./tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# Ten seconds a target from a fixed seed: the same inputs on every run.
fuzz-smoke: deps
	$(MAKE) fuzz-build
	FUZZ_SEED=1 ./tests/fuzz/run.sh $(FUZZ_DIR) 10

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-san
