#!/bin/sh
# Make the virtual environment of LiteLLM's proxy for tests/backend/peer_litellm.py (the
# backend/peer_litellm ctest skips, exit 77, until it exists). Takes a few minutes; PyPI only.
#   tests/backend/peer_litellm_setup.sh [VENV_DIR]     (default: build/litellm-venv)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$here/../../build/litellm-venv}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/peer_litellm_requirements.txt"
LITELLM_LOCAL_MODEL_COST_MAP=True "$venv/bin/python" -c "import litellm.proxy.proxy_cli"
echo "litellm proxy ready: $venv/bin/python (the test looks in build/litellm-venv; for another place set AMLAB_LITELLM_PYTHON to this)"
