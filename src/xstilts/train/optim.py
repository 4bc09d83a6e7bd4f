"""AdamW with decoupled weight decay (none on biases/LayerNorm), linear warm-up then decay;
the fused kernel (one pass over all parameters per step) where torch has it; gradient
clipping by global norm, folded into that pass."""

from __future__ import annotations

import contextlib

import torch

from xstilts.config import TrainingConfig

# Where xstilts uses the fused AdamW kernel: a GPU (one launch per step), and a CPU from
# torch 2.4 (which added it there): the default on a CPU is a Python loop over parameters,
# 50 ms a step for e5-small's 21M encoder weights on the project's 2-core machine against
# 16 ms fused, a seventh of a short UD POS step (benchmarks/train_throughput.py).
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


def gradient_norm(optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """The global L2 norm of the gradients `optimizer` steps with, as clip_grad_norm_ takes
    it (torch's own function from 2.6: one foreach kernel on a GPU)."""
    grads = _gradients(optimizer)
    if not grads:
        return torch.zeros(())
    if hasattr(torch.nn.utils, "get_total_norm"):
        return torch.nn.utils.get_total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


class GradientNorms:
    """`gradient_norm(optimizer)`, its per-gradient norms taken during the backward pass
    (a hook as each parameter's gradient is complete, while it is still in the CPU's cache)
    instead of in a pass over every gradient after it: 1% of an e5-small UD POS step on the
    project's 2-core machine. The same norms in the same order, so the same total. For one
    process on a CPU: under DDP the gradients are averaged after the hooks; on a GPU one
    foreach kernel after the backward is cheaper than a kernel per parameter.

        norms = GradientNorms(optimizer)
        with norms.recording(last_micro_batch): loss.backward()
        norm = norms.total()        # after the step's last backward
        norms.close()               # at the end of the phase: the hooks removed
    """

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.taken: dict[torch.Tensor, torch.Tensor] = {}
        self.active = False
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.handles = [p.register_post_accumulate_grad_hook(self._take) for p in params]

    def _take(self, param: torch.Tensor) -> None:
        if self.active:  # the step's last backward: its gradients are the step's
            self.taken[param] = torch.linalg.vector_norm(param.grad)

    @contextlib.contextmanager
    def recording(self, last_micro_batch: bool):
        """Context for one micro-batch's backward; norms are taken on the step's last."""
        self.active = last_micro_batch
        try:
            yield
        finally:
            self.active = False

    def total(self) -> torch.Tensor:
        """The global L2 norm of the step's gradients (`gradient_norm`'s value); a gradient
        no hook saw this step (none expected) is measured here."""
        norms = []
        for group in self.optimizer.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    norm = self.taken.get(param)
                    norms.append(norm if norm is not None
                                 else torch.linalg.vector_norm(param.grad))
        self.taken.clear()
        return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())

    def close(self) -> None:
        """Remove the hooks (a kept encoder's parameters outlive the phase)."""
        for handle in self.handles:
            handle.remove()
        self.handles = []


def clipped_step(optimizer: torch.optim.Optimizer, norm: torch.Tensor, max_norm: float) -> None:
    """`optimizer.step()` on the gradients scaled as clip_grad_norm_ scales them (by
    min(1, max_norm / (norm + 1e-6)), `norm` from `gradient_norm`). Fused AdamW applies the
    scale as it reads each gradient (its grad_scale input, GradScaler's: it divides by it)
    instead of in a pass of its own over the gradients: 25 ms a step against 29 for e5-small's
    21M trained weights on the project's 2-core machine."""
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)  # clip_grad_norm_'s
    if optimizer.defaults.get("fused"):
        optimizer.grad_scale = scale.reciprocal()  # read by AdamW.step, as from a GradScaler
        try:
            optimizer.step()
        finally:
            del optimizer.grad_scale
        return
    for grad in _gradients(optimizer):  # as clip_grad_norm_ scales them
        grad.mul_(scale.to(grad.device))
    optimizer.step()


def _gradients(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p.grad for group in optimizer.param_groups for p in group["params"]
            if p.grad is not None]
