# The two commands of the README are `make demo` and `make check`; the rest are their parts.
# Build trees: build/asan (tests), build/release (demo, benchmarks), build/fuzz (clang libFuzzer).
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SRC_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null)

.PHONY: all setup release asan fuzz check test peers format format-check demo bench clean

all: release

setup:
	@scripts/setup

release:
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DAMLAB_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build/release -j$(JOBS)

asan:
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Asan -DAMLAB_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build/asan -j$(JOBS)

# clang-14 with libFuzzer: builds every fuzz target, and with it the whole library under clang.
fuzz:
	CC=clang-14 cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Fuzz -DAMLAB_FUZZ=ON -DAMLAB_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build/fuzz -j$(JOBS)

format:
	clang-format -i $(SRC_FILES)

format-check:
	@clang-format --dry-run -Werror $(SRC_FILES) && echo "format-check: $(words $(SRC_FILES)) files clean"

# The README's test command: setup, format check, gcc ASan+UBSan build, clang fuzz build, ctest.
check: setup format-check fuzz asan
	ctest --test-dir build/asan --output-on-failure -j$(JOBS)

test: asan
	ctest --test-dir build/asan --output-on-failure -j$(JOBS)

# Tests against heavy third-party peers (LiteLLM's proxy: a ~4-minute install; llama-cpp-python:
# builds llama.cpp, minutes more; each in its own virtual environment), kept out of `make check`
# for CI time; see docs/peers.md.
peers: asan
	test -x build/litellm-venv/bin/python || tests/backend/peer_litellm_setup.sh
	build/llamacpp-venv/bin/python -c "import llama_cpp" 2>/dev/null || tests/engine/peer_llamacpp_setup.sh
	ctest --test-dir build/asan -L peer --output-on-failure

# The README's main command.
demo: setup release
	scripts/demo

bench: release
	scripts/bench

clean:
	rm -rf build
