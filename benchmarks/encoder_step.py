"""One training step of the encoder alone: Hugging Face's forward vs xstilts' unpadded one.

The same model, the same padded batches (batch size 16; per length, sequence lengths drawn
between a minimum and the padded length, the first one at full length), forward and backward
of a loss over the real tokens, dropout on (training mode), word embeddings frozen as in
train_throughput.py's CPU runs:

- hf        `encoder(input_ids, attention_mask)`: every position of the padded batch;
- unpadded  `xstilts.models.unpadded.unpadded_forward`: real tokens only, attention in groups
            (models/unpadded.py).

Prints milliseconds per step (median of --repeat timed passes over --batches batches, after
one untimed pass) and the ratio. `--quick`: a tiny BERT-shaped model, 1 repeat.

Usage: python benchmarks/encoder_step.py [--encoder e5-small] [--lengths 40:8 205:180 384:330]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from bench_common import print_table

from xstilts.models.unpadded import supports_unpadded, unpadded_forward


def load(name: str, quick: bool):
    """The encoder to time (a tiny random BERT for --quick: no download, no conversion)."""
    if quick:
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        return BertModel(BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=4, intermediate_size=64))
    from xstilts.models.encoder import load_encoder, quiet_transformers, resolve_encoder

    quiet_transformers(download_bars=False)
    return load_encoder(resolve_encoder(name))[0]


def batches(length: int, shortest: int, count: int, vocab: int, seed: int = 0):
    """`count` right-padded batches of 16 at padded width `length`."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        lengths = torch.randint(shortest, length + 1, (16,), generator=generator)
        lengths[0] = length
        mask = (torch.arange(length)[None] < lengths[:, None]).long()
        ids = torch.randint(5, vocab, (16, length), generator=generator)
        out.append((ids.masked_fill(mask == 0, 1), mask))
    return out


def step_ms(forward, data, repeat: int) -> float:
    """Median milliseconds per forward + backward step over `repeat` passes."""
    def one_pass():
        for ids, mask in data:
            hidden = forward(ids, mask)
            (hidden.float().pow(2) * mask[..., None]).mean().backward()

    one_pass()  # warm-up: allocator, kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        one_pass()
        times.append((time.perf_counter() - start) / len(data) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-small")
    parser.add_argument("--lengths", nargs="+", default=["40:8", "205:180", "384:330"],
                        help="padded length:shortest sequence, per row")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.lengths, args.batches, args.repeat = ["12:3", "24:20"], 2, 1
    model = load(args.encoder, args.quick).train()
    model.get_input_embeddings().weight.requires_grad_(False)
    if not supports_unpadded(model):
        raise SystemExit(f"{args.encoder}: not a BERT-shaped encoder; nothing to compare.")
    systems = {
        "hf": lambda ids, mask: model(input_ids=ids, attention_mask=mask).last_hidden_state,
        "unpadded": lambda ids, mask: unpadded_forward(model, ids, mask).last_hidden_state,
    }
    rows = []
    for spec in args.lengths:
        length, shortest = (int(v) for v in spec.split(":"))
        data = batches(length, shortest, args.batches, model.config.vocab_size)
        real = sum(int(mask.sum()) for _, mask in data) / (len(data) * 16 * length)
        times = {name: step_ms(forward, data, args.repeat) for name, forward in systems.items()}
        for name, ms in times.items():
            rows.append([length, f"{real:.0%}", name, ms, f"x{times['hf'] / ms:.2f}"])
    print_table(f"Encoder training step: {args.encoder if not args.quick else 'tiny BERT'}, "
                f"batch 16, median of {args.repeat}", ["length", "real share", "forward",
                                                      "ms/step", "vs hf"], rows)


if __name__ == "__main__":
    main()
