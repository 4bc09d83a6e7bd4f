"""The CPU tricks of issue 26, point 2, each measured keep vs remove on the same training steps.

A CPU optimisation stays in xstilts only if it computes the same math (the same
distributions; float rounding aside), uses public, documented torch/transformers APIs, and is
at least 10% faster beyond the spread of paired rounds. This script measures the last
condition for each trick that was in xstilts before that rule (the removed code is in
benchmarks/removed_cpu_tricks.py, a verbatim copy kept for this record):

- packed-backward   attention with dropout over the packed rows, its backward written out
                    with the private torch._softmax_backward_data, vs xstilts' attention
                    (F.scaled_dot_product_attention per group, autograd); both with torch's
                    own dropout masks;
- packed-autograd   the same packed forward in public operations with autograd's backward
                    (a candidate replacement), vs xstilts' attention;
- 15-bit-masks      the packed attention's masks drawn 15 bits a value vs torch's bernoulli_
                    masks (both with the packed attention, where that mask was used);
- same-draws        hidden-state dropout from torch's 64-bit draws read as integers vs
                    nn.Dropout;
- norm-hooks        gradient norms taken in post-accumulate-grad hooks during the backward,
                    then clip_grads_with_norm_, vs clip_grad_norm_ after the backward;
- grad-scale        the clipping scale handed to fused AdamW as `optimizer.grad_scale` vs
                    clip_grad_norm_ (foreach) then optimizer.step();
- all               every trick above as it shipped (packed-backward, 15-bit masks,
                    same-draws, hooks, grad-scale) vs none.

One training step: xstilts' unpadded forward (`encoder.forward: unpadded`, models/unpadded.py)
of the encoder in training mode (dropout on), a token-classification head (17 labels, as UD
POS), cross-entropy over the real tokens, backward, clipping at 1.0, fused AdamW (xstilts'
build_optimizer), word embeddings frozen as in train_throughput.py's CPU runs. Shapes: the
lengths train_throughput.py trains on (udpos: English EWT dev sentences at 128 tokens; xquad:
XQuAD-en's windows at 384 tokens, doc_stride 128), batched 16 at a time in xstilts'
length-grouped order (16-token buckets); random token ids (speed does not depend on them).
Without the files (and with --quick), log-normal lengths about their mean.

Each round runs keep then remove (odd rounds: remove then keep) on the same batches from the
same seed, one untimed warm-up step then --steps timed ones per variant; the table shows the
median ms per step over rounds, each round's remove/keep ratio (the trick's speed-up; > 1:
the trick is faster), their median and range, and the decision under the rule.

Usage: python benchmarks/cpu_tricks.py [--shapes udpos xquad] [--tricks ...] [--rounds N]
       [--steps N] [--threads N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import removed_cpu_tricks as removed
import torch
import torch.nn.functional as F
from bench_common import DEFAULT_DATA, UD_TRAIN, print_table

from xstilts.config import TrainingConfig
from xstilts.models import unpadded
from xstilts.models.forward import use_forward
from xstilts.train.batching import epoch_order
from xstilts.train.optim import build_optimizer, clip_gradients

LABELS = 17
MAX_GRAD_NORM = 1.0
FASTER_BY = 1.10  # the rule: >= 10% faster, at the low end of the rounds' range


@dataclass(frozen=True)
class Variant:
    """What one side of a pair runs; the defaults are xstilts' code as it is."""

    attention: str | None = None  # None: xstilts' SDPA; "packed" or "autograd" packed attention
    mask: str = "torch"  # the packed attention's masks: "torch" (bernoulli_) or "15-bit"
    same_draws: bool = False  # hidden dropout through removed.same_draws_dropout
    hooks: bool = False  # gradient norms in post-accumulate-grad hooks
    grad_scale: bool = False  # the clipping scale passed as optimizer.grad_scale


@dataclass(frozen=True)
class Trick:
    keep: Variant
    remove: Variant = field(default_factory=Variant)
    same_math: str = "yes"
    public_api: str = "yes"
    shapes: tuple[str, ...] = ("udpos", "xquad")


SHIPPED = Variant(attention="packed", mask="15-bit", same_draws=True, hooks=True,
                  grad_scale=True)
TRICKS = {
    "packed-backward": Trick(Variant(attention="packed"),
                             public_api="no: torch._softmax_backward_data"),
    "packed-autograd": Trick(Variant(attention="autograd")),
    "15-bit-masks": Trick(Variant(attention="packed", mask="15-bit"), Variant(attention="packed"),
                          same_math="no: rate rounded to 2^-15"),
    "same-draws": Trick(Variant(same_draws=True), shapes=("udpos",),
                        public_api="no: bernoulli_'s bit layout"),
    "norm-hooks": Trick(Variant(hooks=True), shapes=("udpos",)),
    "grad-scale": Trick(Variant(grad_scale=True), shapes=("udpos",),
                        public_api="no: optimizer.grad_scale"),
    "all": Trick(SHIPPED, same_math="no", public_api="no"),
}


@dataclass
class Setup:
    encoder: torch.nn.Module
    head: torch.nn.Module
    optimizer: torch.optim.Optimizer


def load(encoder_name: str, quick: bool):
    """(encoder, tokenizer or None): a tiny random BERT for --quick (no files)."""
    if quick:
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        return BertModel(BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=4, intermediate_size=64)), None
    from xstilts.models.encoder import load_encoder, quiet_transformers, resolve_encoder

    quiet_transformers(download_bars=False)
    return load_encoder(resolve_encoder(encoder_name))


def real_lengths(shape: str, tokenizer, data: Path) -> list[int] | None:
    """Token counts as train_throughput.py trains: EWT dev's first 1,600 sentences at 128
    tokens (udpos), XQuAD-en's first 320 windows as HF run_qa.py cuts them (question and
    context, 384 tokens, doc_stride 128: xquad); None without the file."""
    if shape == "udpos":
        path = data / "udpos" / UD_TRAIN
        if not path.exists():
            return None
        from xstilts.tasks.readers_tokens import read_conllu

        sentences = [ex["tokens"] for ex in read_conllu(path, {}, {})[:1600]]
        encoded = tokenizer(sentences, is_split_into_words=True, truncation=True,
                            max_length=128)
        return [len(ids) for ids in encoded["input_ids"]]
    path = data / "xquad" / "xquad.en.json"
    if not path.exists():
        return None
    pairs = [(qa["question"], para["context"])
             for article in json.loads(path.read_text(encoding="utf-8"))["data"]
             for para in article["paragraphs"] for qa in para["qas"]]
    encoded = tokenizer([q for q, _ in pairs], [c for _, c in pairs], truncation="only_second",
                        max_length=384, stride=128, return_overflowing_tokens=True)
    return [len(ids) for ids in encoded["input_ids"]][:320]


def drawn_lengths(shape: str, quick: bool) -> list[int]:
    """Without the files (or --quick): log-normal lengths about the real ones' mean (udpos 25
    tokens, xquad 160; a quarter of that for --quick's tiny model)."""
    mean, cap, count = (3.1, 128, 1600) if shape == "udpos" else (5.0, 384, 320)
    generator = torch.Generator().manual_seed(0)
    drawn = torch.empty(count).log_normal_(mean, 0.4, generator=generator)
    return [int(min(cap, max(3, n))) for n in (drawn / (4 if quick else 1)).tolist()]


def make_batches(shape: str, count: int, vocab: int, tokenizer, data: Path, quick: bool):
    """`count` (+1 warm-up) right-padded batches of 16 in xstilts' length-grouped order (16-
    token buckets): (ids, mask, labels)."""
    lengths = None if quick or tokenizer is None else real_lengths(shape, tokenizer, data)
    lengths = lengths or drawn_lengths(shape, quick)
    order = epoch_order(lengths, 16, seed=0, epoch=0)
    # Batch 0 holds the longest example (an out-of-memory check); take the ones after it.
    generator = torch.Generator().manual_seed(1)
    out = []
    for b in range(1, count + 2):
        sizes = [lengths[i] for i in order[16 * b:16 * b + 16]]
        width = max(sizes)
        mask = (torch.arange(width)[None] < torch.tensor(sizes)[:, None]).long()
        ids = torch.randint(5, vocab, (16, width), generator=generator).masked_fill(mask == 0, 1)
        labels = torch.randint(0, LABELS, (16, width), generator=generator)
        out.append((ids, mask, labels))
    return out


@contextlib.contextmanager
def patched(encoder, variant: Variant):
    """xstilts' unpadded forward with the variant's attention and hidden dropout swapped in."""
    own_attention = unpadded._attention
    dropouts = [m for layer in encoder.encoder.layer
                for m in (layer.attention.output.dropout, layer.output.dropout)]
    if variant.attention:
        packed = (removed.PackedAttention.apply if variant.attention == "packed"
                  else removed.packed_attention_autograd)
        masks = removed.dropout_keep if variant.mask == "15-bit" else removed.torch_keep
        unpadded._attention = removed.attention_with(packed, masks)
    if variant.same_draws:
        for module in dropouts:  # the instance's forward: what unpadded_forward's call runs
            module.forward = (lambda x, m=module:
                              removed.same_draws_dropout(x, m.p, m.training))
    try:
        yield
    finally:
        unpadded._attention = own_attention
        for module in dropouts:
            module.__dict__.pop("forward", None)


def timed_steps(setup: Setup, variant: Variant, batches, seed: int) -> float:
    """Seconds of the timed steps (all batches but the first, a warm-up)."""
    encoder, head, optimizer = setup.encoder, setup.head, setup.optimizer
    params = [p for g in optimizer.param_groups for p in g["params"]]
    torch.manual_seed(seed)
    with patched(encoder, variant):
        norms = removed.GradientNorms(optimizer) if variant.hooks else None
        try:
            for i, (ids, mask, labels) in enumerate(batches):
                if i == 1:
                    start = time.perf_counter()
                hidden = unpadded.encode(encoder, ids, mask).last_hidden_state
                real = mask.bool()
                loss = F.cross_entropy(head(hidden[real]), labels[real])
                with norms.recording(True) if norms else contextlib.nullcontext():
                    loss.backward()
                if variant.grad_scale:
                    grads = [p.grad for p in params if p.grad is not None]
                    norm = norms.total() if norms else torch.nn.utils.get_total_norm(grads)
                    removed.clipped_step(optimizer, norm, MAX_GRAD_NORM)
                elif norms:
                    torch.nn.utils.clip_grads_with_norm_(
                        [p for p in params if p.grad is not None], MAX_GRAD_NORM,
                        norms.total(), foreach=True)
                    optimizer.step()
                else:
                    clip_gradients(optimizer, MAX_GRAD_NORM)  # xstilts' loop
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            return time.perf_counter() - start
        finally:
            if norms:
                norms.close()


LOADS: list[float] = []  # the machine's 1-minute load average at each round


def measure(setup: Setup, trick: Trick, batches, rounds: int) -> tuple[list[float], list[float]]:
    """Per round: (keep seconds, remove seconds), alternating which runs first."""
    keep, remove = [], []
    for r in range(rounds):
        LOADS.append(os.getloadavg()[0])
        sides = [("keep", trick.keep), ("remove", trick.remove)]
        for name, variant in (sides if r % 2 == 0 else sides[::-1]):
            (keep if name == "keep" else remove).append(
                timed_steps(setup, variant, batches, seed=r))
    return keep, remove


def decision(trick: Trick, ratios: list[float]) -> str:
    fails = [what for what, flag in (("same math", trick.same_math),
                                     ("public API", trick.public_api)) if flag != "yes"]
    if min(ratios) < FASTER_BY:
        fails.append(f"< {FASTER_BY:.2f}x")
    return "keep" if not fails else "remove (" + ", ".join(fails) + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-small")
    parser.add_argument("--shapes", nargs="+", choices=("udpos", "xquad"),
                        default=["udpos", "xquad"])
    parser.add_argument("--tricks", nargs="+", choices=list(TRICKS), default=list(TRICKS))
    parser.add_argument("--rounds", type=int, default=None,
                        help="paired rounds per trick [6]")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per variant and round [udpos 4, xquad 2]")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with udpos/ and xquad/ (for the lengths)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own); on a machine other work "
                             "loads, 1 spares the variants OpenMP's waits for a second core")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny random BERT, 2 rounds of 1 step (a smoke test)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder, tokenizer = load(args.encoder, args.quick)
    encoder.train()
    encoder.get_input_embeddings().weight.requires_grad_(False)
    use_forward(encoder, "unpadded", torch.device("cpu"))
    model = torch.nn.ModuleDict({"encoder": encoder,
                                 "heads": torch.nn.Linear(encoder.config.hidden_size, LABELS)})
    optimizer, _ = build_optimizer(model, TrainingConfig(learning_rate=5e-5), total_steps=10**6)
    setup = Setup(encoder, model["heads"], optimizer)
    rows, lines = [], []
    for shape in args.shapes:
        rounds = args.rounds or (2 if args.quick else 6)
        steps = args.steps or (1 if args.quick else {"udpos": 4, "xquad": 2}[shape])
        batches = make_batches(shape, steps, encoder.config.vocab_size, tokenizer, args.data,
                               args.quick)
        real = sum(int(m.sum()) for _, m, _ in batches) / sum(m.numel() for _, m, _ in batches)
        print(f"# {shape}: {steps} timed step(s) per variant and round, "
              f"{real:.0%} real tokens", flush=True)
        for name in args.tricks:
            trick = TRICKS[name]
            if shape not in trick.shapes:
                continue
            keep, remove = measure(setup, trick, batches, rounds)
            ratios = [r / k for k, r in zip(keep, remove, strict=True)]
            ms = [1000 * statistics.median(s) / steps for s in (keep, remove)]
            rows.append([name, shape, rounds, f"{ms[0]:.1f}", f"{ms[1]:.1f}",
                         f"x{statistics.median(ratios):.3f}",
                         f"x{min(ratios):.3f}-x{max(ratios):.3f}", trick.same_math,
                         trick.public_api, decision(trick, ratios)])
            lines.append(f"- {name} {shape}: " + ", ".join(f"{r:.3f}" for r in ratios))
            print(f"#{lines[-1][1:]} (keep {ms[0]:.1f} ms/step, remove {ms[1]:.1f})", flush=True)
    shown = "tiny BERT" if args.quick else args.encoder
    print_table(f"CPU tricks, keep vs remove: {shown}, batch 16, training steps, "
                "paired rounds", ["trick", "shape", "rounds", "keep ms/step",
                                  "remove ms/step", "speed-up (median)", "range",
                                  "same math", "public API", "decision"], rows)
    print(f"\nThe machine's 1-minute load average during the rounds: {min(LOADS):.1f} to "
          f"{max(LOADS):.1f} ({os.cpu_count()} cores).")
    print("\nEach round's speed-up (remove seconds / keep seconds; keep and remove measured "
          "side by side):")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
