"""AdamW with decoupled weight decay (none on biases/LayerNorm), linear warm-up then decay;
the fused kernel when every trainable parameter is on a GPU."""

from __future__ import annotations

import torch

from xstilts.config import TrainingConfig

FUSED_DEVICES = ("cuda",)  # where xstilts uses the fused AdamW kernel (one launch per step)


def fused_supported(params: list[torch.Tensor]) -> bool:
    """Fused AdamW: every trainable parameter a float tensor on a GPU (CPU runs keep the
    default implementation, so their results stay as they were)."""
    return bool(params) and all(p.device.type in FUSED_DEVICES and p.is_floating_point()
                                for p in params)


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
