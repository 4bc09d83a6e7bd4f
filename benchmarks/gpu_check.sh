#!/bin/bash
# Issue 13's GPU checks in one command on a lent machine (the device tool), after
# benchmarks/gpu_kit.sh made .gpukit/ here:
#   run(command="bash benchmarks/gpu_check.sh", carry=[".gpukit"], timeout_s=540)
# Writes gpu.txt, resume.txt, train256.txt (XLM-R base's shapes at 256 tokens, bf16: the MFU
# figure) and train.txt (the default lengths) under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpukit/whl/*.whl || exit 1
export PYTHONPATH=$PWD/src:$PWD/benchmarks:/tmp/site PYTHONUNBUFFERED=1
export XSTILTS_CACHE=/tmp/xstilts-cache BENCH_TOKENIZER=$PWD/.gpukit/tokenizer
nvidia-smi > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, transformers; print(torch.__version__, transformers.__version__)" \
    >> "$OUT/gpu.txt" 2>&1
timeout 120 python3 benchmarks/gpu_resume_check.py 2>&1 | tee "$OUT/resume.txt" | tail -3
common=(--encoder xlmr-base-shaped --data .gpukit/data --steps 60 --batch-size 32)
timeout 200 python3 benchmarks/train_throughput.py "${common[@]}" --tasks xquad --length 256 \
    2>&1 | tee "$OUT/train256.txt" | tail -12
timeout 180 python3 benchmarks/train_throughput.py "${common[@]}" 2>&1 \
    | tee "$OUT/train.txt" | tail -12
