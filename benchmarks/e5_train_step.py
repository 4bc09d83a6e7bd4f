"""Training-step time of e5-small on this machine: full model vs the CPU-saving settings
(frozen embeddings, trimmed vocabulary, frozen bottom layers, no attention dropout).

Prints one comparison measured in one run. Usage: python benchmarks/e5_train_step.py [--steps N]
"""

from __future__ import annotations

import argparse
import time

import torch

from xstilts.config import TrainingConfig
from xstilts.models.build import freeze_bottom_layers
from xstilts.models.e5_small import ensure_e5_small
from xstilts.models.encoder import load_encoder, quiet_transformers
from xstilts.models.trim import ensure_trimmed
from xstilts.train.optim import build_optimizer


class Model(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, 3)


def step_time(folder: str, freeze: bool, steps: int, batch: int, length: int,
              frozen_layers: int = 0, attention_dropout: float | None = None
              ) -> tuple[float, float]:
    """Mean seconds per AdamW step and the trainable parameter count (millions)."""
    encoder, tokenizer = load_encoder(folder, attention_dropout=attention_dropout)
    if freeze:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    if frozen_layers:
        freeze_bottom_layers(encoder, frozen_layers)
    model = Model(encoder)
    optimizer, _ = build_optimizer(model, TrainingConfig(), 100)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, len(tokenizer), (batch, length), generator=gen)
    labels = torch.randint(0, 3, (batch,), generator=gen)
    # Padded like real batches: each row keeps 40-100% of the length.
    lengths = torch.randint(int(0.4 * length), length + 1, (batch,), generator=gen)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(model.head(hidden[:, 0]), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i:  # the first step warms up allocators
            times.append(time.perf_counter() - t)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6
    return sum(times) / len(times), trainable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    args = parser.parse_args()
    quiet_transformers()
    full = str(ensure_e5_small())
    # A vocabulary like a small multilingual run's: pieces of a few thousand sentences.
    from xstilts.tasks.demo import make_tasks

    tasks = make_tasks({"train": 320, "dev": 96, "test": 100}, 0)
    texts = []
    for task in tasks.values():
        for lang in task.languages:
            for ex in task.load("test", lang):
                texts.extend(v for v in ex.values() if isinstance(v, str))
    trimmed = str(ensure_trimmed(full, texts))
    rows = [("all parameters trainable", full, False, 0, None),
            ("word embeddings frozen", full, True, 0, None),
            ("trimmed vocabulary", trimmed, False, 0, None),
            ("trimmed + frozen", trimmed, True, 0, None),
            ("+ bottom 4 layers frozen", trimmed, True, 4, None),
            ("+ attention dropout 0", trimmed, True, 4, 0.0)]
    print(f"batch {args.batch} x {args.length} tokens, {torch.get_num_threads()} threads")
    base = None
    for name, folder, freeze, layers, attention_dropout in rows:
        sec, params = step_time(folder, freeze, args.steps, args.batch, args.length, layers,
                                attention_dropout)
        base = base or sec
        print(f"{name:<26} {sec:6.2f} s/step  {params:7.1f}M trainable  x{base / sec:4.2f}",
              flush=True)


if __name__ == "__main__":
    main()
