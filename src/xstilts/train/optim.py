"""AdamW with decoupled weight decay (none on biases/LayerNorm), linear warm-up then decay;
the fused kernel (one pass over all parameters per step) where torch has it; gradient
clipping by global norm (torch's clip_grad_norm_)."""

from __future__ import annotations

import torch

from xstilts.config import TrainingConfig

# Where xstilts uses the fused AdamW kernel: a GPU (one launch per step), and a CPU from
# torch 2.4 (which added it there): the same update as the default per-parameter loop, in a
# fraction of its time (benchmarks/README.md, "Fused AdamW on a CPU").
FUSED_DEVICES = ("cuda", "cpu")
CPU_FUSED_SINCE = (2, 4)


def fused_supported(params: list[torch.Tensor]) -> bool:
    """Fused AdamW: every trainable parameter a float tensor on a device that has it."""
    devices = {p.device.type for p in params}
    if "cpu" in devices and _torch_version() < CPU_FUSED_SINCE:
        return False
    return bool(params) and all(p.device.type in FUSED_DEVICES and p.is_floating_point()
                                for p in params)


def _torch_version():
    # torch's own version object: compares with tuples, local builds (+cpu) and
    # pre-releases as packaging does.
    return torch.__version__


def build_optimizer(model, cfg: TrainingConfig, total_steps: int):
    """AdamW over trainable parameters and a linear warm-up/decay schedule."""
    groups: dict[tuple[float, float], list] = {}
    head_lr = cfg.head_learning_rate or cfg.learning_rate
    # Fresh modules on top of the encoder (MultiTaskModel: heads and layer aggregation).
    head_prefixes = getattr(model, "HEAD_PREFIXES", ("heads.",))
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue  # e.g. frozen word embeddings
        no_decay = param.ndim < 2 or "LayerNorm" in name or "layernorm" in name.lower()
        lr = head_lr if name.startswith(head_prefixes) else cfg.learning_rate
        groups.setdefault((lr, 0.0 if no_decay else cfg.weight_decay), []).append(param)
    params = [p for ps in groups.values() for p in ps]
    optimizer = torch.optim.AdamW(
        [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()],
        fused=fused_supported(params) or None)
    warmup = int(cfg.warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def clip_gradients(optimizer: torch.optim.Optimizer, max_norm: float) -> torch.Tensor:
    """torch's clip_grad_norm_ (foreach kernels) over the gradients `optimizer` steps with;
    their global L2 norm before clipping (0 when there are none)."""
    params = [p for group in optimizer.param_groups for p in group["params"]
              if p.grad is not None]
    if not params:
        return torch.zeros(())
    return torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
