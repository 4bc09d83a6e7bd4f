"""GPUs' dense bf16 peak FLOP/s: the MFU a training phase reports (train/throughput.py) and
the GPU-hours of a study's dry run (study/cost.py). Torch-free."""

from __future__ import annotations

# Dense (no sparsity) peak bf16 tensor FLOP/s by a lower-case substring of
# torch.cuda.get_device_name(); first match wins, so specific names come first. Source:
# NVIDIA's datasheets (H100/H200 SXM, H100 PCIe and NVL, B200 HGX, A100, L40S, L40, L4),
# whose "BF16 Tensor Core" figures are with sparsity: these are half of them. Also the
# `--gpu` names of `xstilts study --dry-run` (study/cost.py).
PEAK_BF16_FLOPS = (
    ("h100 pcie", 756e12),
    ("h100 nvl", 835e12),
    ("h100", 989e12),
    ("h200", 989e12),
    ("gh200", 989e12),
    ("b200", 2250e12),
    ("a100", 312e12),
    ("l40s", 362e12),
    ("l40", 181e12),
    ("l4", 121e12),
)
