"""One training step of the encoder alone: Hugging Face's forward vs xstilts' unpadded one.

The same model, the same padded batches (batch size 16; per length, sequence lengths drawn
between a minimum and the padded length, the first one at full length), forward and backward
of a loss over the real tokens, dropout on (training mode), word embeddings frozen as in
train_throughput.py's CPU runs, through `xstilts.models.unpadded.encode` with the encoder
marked as `encoder.forward` would mark it (models/forward.py):

- hf        Hugging Face's forward over every position of the padded batch (on CUDA with
            PyTorch's SDPA attention, as `encoder.forward: auto` runs it there);
- unpadded  xstilts' forward over the real tokens only, attention in groups
            (models/unpadded.py).

On a GPU it runs there, under bf16 autocast as xstilts trains (`--no-bf16`: fp32). Prints
milliseconds per step (median of --repeat timed passes over --batches batches, after one
untimed pass), the ratio, the loss of the untimed pass ("train loss": the same seed for each
forward, but their dropout draws differ, so these agree to dropout's noise only) and the same
loss in eval mode ("eval loss": no dropout; the forwards must agree to rounding).
`--quick`: a tiny BERT-shaped model, 1 repeat. `--encoder xlmr-base-shaped`: XLM-R base's
shapes with random weights (benchmarks/bench_common.py; what gpu_check.sh times).

Usage: python benchmarks/encoder_step.py [--encoder e5-small] [--lengths 40:8 205:180 384:330]
       [--forward hf unpadded]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from bench_common import SHAPED, print_table, xlmr_base_shaped

from xstilts.models.forward import use_forward
from xstilts.models.unpadded import encode, supports_unpadded

FORWARDS = ("hf", "unpadded")


def load(name: str, quick: bool):
    """The encoder to time (a tiny random BERT for --quick: no download, no conversion)."""
    if quick:
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        return BertModel(BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=4, intermediate_size=64))
    from xstilts.models.encoder import load_encoder, quiet_transformers, resolve_encoder

    quiet_transformers(download_bars=False)
    location = str(xlmr_base_shaped()) if name == SHAPED else resolve_encoder(name)
    return load_encoder(location)[0]


def batches(length: int, shortest: int, count: int, vocab: int, device: torch.device,
            seed: int = 0):
    """`count` right-padded batches of 16 at padded width `length`, on `device`."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        lengths = torch.randint(shortest, length + 1, (16,), generator=generator)
        lengths[0] = length
        mask = (torch.arange(length)[None] < lengths[:, None]).long()
        ids = torch.randint(5, vocab, (16, length), generator=generator)
        out.append((ids.masked_fill(mask == 0, 1).to(device), mask.to(device)))
    return out


def step_ms(forward, data, repeat: int, device: torch.device, bf16: bool,
            direction: torch.Tensor) -> tuple[float, float]:
    """(median milliseconds per forward + backward step over `repeat` passes, the mean loss
    of the untimed first pass). The loss reads each real token's hidden state through a fixed
    `direction` (a squared norm would be about the same after any LayerNorm)."""
    def one_pass() -> float:
        total = 0.0
        for ids, mask in data:
            autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if bf16
                        else contextlib.nullcontext())
            with autocast:
                hidden = forward(ids, mask)
            loss = ((hidden.float() @ direction).pow(2) * mask).sum() / mask.sum()
            loss.backward()
            total += float(loss.detach())
        if device.type == "cuda":
            torch.cuda.synchronize()
        return total / len(data)

    torch.manual_seed(0)
    loss = one_pass()  # warm-up: allocator, kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        one_pass()
        times.append((time.perf_counter() - start) / len(data) * 1000)
    return statistics.median(times), loss


def eval_loss(forward, data, device: torch.device, bf16: bool, direction: torch.Tensor,
              model) -> float:
    """The same loss without dropout and gradients: where the two forwards must agree to
    rounding (bf16's on a GPU)."""
    model.eval()
    total = 0.0
    with torch.no_grad():
        for ids, mask in data:
            autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if bf16
                        else contextlib.nullcontext())
            with autocast:
                hidden = forward(ids, mask)
            total += float(((hidden.float() @ direction).pow(2) * mask).sum() / mask.sum())
    model.train()
    return total / len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-small",
                        help="e5-small, tiny-random, xlmr-base-shaped, a folder or a hub id")
    parser.add_argument("--lengths", nargs="+", default=["40:8", "205:180", "384:330"],
                        help="padded length:shortest sequence, per row")
    parser.add_argument("--forward", nargs="+", choices=FORWARDS, default=list(FORWARDS),
                        help="the forwards to time (encoder.forward: hf, unpadded)")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-bf16", dest="bf16", action="store_false",
                        help="fp32 on a GPU too (default: bf16 autocast there)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.lengths, args.batches, args.repeat = ["12:3", "24:20"], 2, 1
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = args.bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported()
    model = load(args.encoder, args.quick).to(device).train()
    model.get_input_embeddings().weight.requires_grad_(False)
    if "unpadded" in args.forward and not supports_unpadded(model):
        raise SystemExit(f"{args.encoder}: not a BERT-shaped encoder; the unpadded forward "
                         "cannot run it.\n  fix: --forward hf")

    def system(kind: str):
        def forward(ids, mask):
            use_forward(model, kind, device)  # the mark encode reads
            return encode(model, ids, mask).last_hidden_state
        return forward

    width = model.config.hidden_size
    direction = torch.randn(width, generator=torch.Generator().manual_seed(3)) / width ** 0.5
    direction = direction.to(device)
    rows = []
    for spec in args.lengths:
        length, shortest = (int(v) for v in spec.split(":"))
        data = batches(length, shortest, args.batches, model.config.vocab_size, device)
        real = sum(int(mask.sum()) for _, mask in data) / (len(data) * 16 * length)
        measured = {kind: (*step_ms(system(kind), data, args.repeat, device, bf16, direction),
                           eval_loss(system(kind), data, device, bf16, direction, model))
                    for kind in args.forward}
        base = measured[args.forward[0]][0]
        for kind, (ms, loss, no_dropout) in measured.items():
            rows.append([length, f"{real:.0%}", kind, ms, f"x{base / ms:.2f}", f"{loss:.6g}",
                         f"{no_dropout:.6g}"])
    shown = "tiny BERT" if args.quick else args.encoder
    print_table(f"Encoder training step: {shown}, batch 16, {device.type}"
                f"{', bf16' if bf16 else ''}, median of {args.repeat}",
                ["length", "real share", "forward", "ms/step", f"vs {args.forward[0]}",
                 "train loss", "eval loss"], rows)


if __name__ == "__main__":
    main()
