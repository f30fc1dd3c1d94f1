#!/bin/sh
# Make the virtual environment of llama-cpp-python for tests/engine/peer_llamacpp.py (the
# engine/peer_llamacpp ctest skips, exit 77, until it exists). pip builds llama.cpp from the
# sdist: several minutes on 2 cores. PyPI only.
#   tests/engine/peer_llamacpp_setup.sh [VENV_DIR]     (default: build/llamacpp-venv)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$(cd "$here/../.." && pwd)/build/llamacpp-venv}
# A portable CPU build (no -march=native, so the venv means the same on any AVX2 machine); no
# llava/mtmd library, which the test does not use (llama_cpp imports it only on demand).
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DLLAVA_BUILD=OFF -DGGML_OPENMP=OFF"
export CMAKE_ARGS
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
export CMAKE_BUILD_PARALLEL_LEVEL
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --no-binary llama-cpp-python \
    -r "$here/peer_llamacpp_requirements.txt"
"$venv/bin/python" -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__)"
echo "llama-cpp-python ready: $venv/bin/python (the test looks in build/llamacpp-venv;"
echo "for another place set AMLAB_LLAMACPP_PYTHON to it)"
