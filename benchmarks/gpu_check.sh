#!/bin/bash
# The GPU checks in one command on a lent machine (the device tool), after
# benchmarks/gpu_kit.sh made .gpukit/ here:
#   run(command="bash benchmarks/gpu_check.sh", carry=[".gpukit"], timeout_s=540)
# Parts, in this order (name some to run only those: `bash benchmarks/gpu_check.sh forward`):
# - forward (issue 26: what `encoder.forward: auto` picks on CUDA): Hugging Face's forward
#   (SDPA) against the unpadded one on XLM-R base's shapes, bf16: the encoder's step alone at
#   three lengths (forward_step.txt: ms/step, train and eval losses) and xstilts' whole loop
#   on XQuAD at 256 tokens with each (train256-hf.txt, train256-unpadded.txt: steps/s, final
#   loss); at most 4 minutes;
# - resume: the GPU resume check (resume.txt);
# - train: train_throughput.py against Trainer at 256 tokens (train256.txt, the MFU figure)
#   and at the default lengths (train.txt).
# Every part writes under $OUT as it goes: a run cut short still returns what finished.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-check}
parts=${*:-forward resume train}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpukit/whl/*.whl || exit 1
export PYTHONPATH=$PWD/src:$PWD/benchmarks:/tmp/site PYTHONUNBUFFERED=1
export XSTILTS_CACHE=/tmp/xstilts-cache BENCH_TOKENIZER=$PWD/.gpukit/tokenizer
nvidia-smi > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, transformers; print(torch.__version__, transformers.__version__)" \
    >> "$OUT/gpu.txt" 2>&1
common=(--encoder xlmr-base-shaped --data .gpukit/data --steps 60 --batch-size 32)
if [[ " $parts " == *" forward "* ]]; then
    timeout 80 python3 benchmarks/encoder_step.py --encoder xlmr-base-shaped \
        --lengths 128:32 256:128 512:384 --batches 4 --repeat 3 --forward hf unpadded 2>&1 \
        | tee "$OUT/forward_step.txt" | tail -10
    for forward in hf unpadded; do
        timeout 80 python3 benchmarks/train_throughput.py "${common[@]}" --tasks xquad \
            --length 256 --systems xstilts --forward "$forward" 2>&1 \
            | tee "$OUT/train256-$forward.txt" | tail -5
    done
fi
if [[ " $parts " == *" resume "* ]]; then
    timeout 120 python3 benchmarks/gpu_resume_check.py 2>&1 | tee "$OUT/resume.txt" | tail -3
fi
if [[ " $parts " == *" train "* ]]; then
    timeout 200 python3 benchmarks/train_throughput.py "${common[@]}" --tasks xquad \
        --length 256 2>&1 | tee "$OUT/train256.txt" | tail -12
    timeout 180 python3 benchmarks/train_throughput.py "${common[@]}" 2>&1 \
        | tee "$OUT/train.txt" | tail -12
fi
