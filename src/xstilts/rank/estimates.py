"""What the base encoder says about one task from a small sample of its data, without training:

    vectors   each sampled example's text (its string fields joined, labels left out;
              classification: its (text_a, text_b) pair) through the encoder, mean-pooled
              over its real tokens (last layer): TextEmb of Vu et al. 2020 averages such
              vectors over a task's data;
    fisher    a task embedding: the diagonal empirical Fisher information of one layer's
              parameters (the encoder's last layer), the mean over a few mini-batches of the
              squared gradient of the task's own loss, with a fresh head of its format
              (seeded, the same seed for every task). Vu et al.'s TaskEmb takes the Fisher
              of a model fine-tuned on the task; this skips the fine-tuning (and squares
              mini-batch gradients, not per-example ones), so it only sees the task through
              its inputs and labels at the base encoder;
    labelled  (features, integer labels) for LogME where the labels are classes of a fixed
              set: classification (the pooled pair, the label), multiple choice (each
              (prompt, choice) pooled, label: right choice or not; of the first questions,
              about `examples` rows in all), tagging (each word's
              first sub-token vector, its tag); None for span QA, retrieval, mining and MLM.
              Features carry a constant last column (a bias).

Similarities between two tasks: cosine of their mean vectors and of their Fisher vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from xstilts.formats import get_format
from xstilts.formats.classification import label_list


@dataclass(frozen=True)
class SampleSettings:
    """How much of each task the estimates read (the `rank` settings' sampling part)."""

    examples: int = 128  # examples sampled per task (all of them when it has fewer)
    max_length: int = 128  # tokens per text
    batch_size: int = 16  # texts per forward pass
    fisher_batches: int = 4  # mini-batches whose squared gradients are averaged
    fisher_batch_size: int = 8
    seed: int = 0


@dataclass(frozen=True)
class TaskSample:
    """One task's estimates' raw material (see the module docstring)."""

    name: str
    vectors: np.ndarray  # (examples, hidden)
    labelled: tuple[np.ndarray, np.ndarray] | None
    fisher: np.ndarray | None
    examples: int


def cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Cosine similarity of two vectors; NaN when either is missing or zero."""
    if a is None or b is None:
        return math.nan
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else math.nan


def text_similarity(a: TaskSample, b: TaskSample) -> float:
    """Cosine of the two tasks' mean text vectors (TextEmb)."""
    return cosine(a.vectors.mean(axis=0), b.vectors.mean(axis=0))


def task_similarity(a: TaskSample, b: TaskSample) -> float:
    """Cosine of the two tasks' Fisher vectors (NaN for a format that is never trained)."""
    return cosine(a.fisher, b.fisher)


def sample_examples(examples, n: int, seed: int) -> list[dict]:
    """n examples drawn without replacement (numpy default_rng(seed)), in file order."""
    if len(examples) <= n:
        return [examples[i] for i in range(len(examples))]
    chosen = np.random.default_rng(seed).choice(len(examples), n, replace=False)
    return [examples[int(i)] for i in sorted(chosen)]


NOT_TEXT = ("id", "label", "tags")  # an id and the labels are not the example's text


def example_text(example: dict) -> str:
    """An example's string fields (and lists of strings) joined by spaces, its id and labels
    left out."""
    parts = []
    for key, value in example.items():
        if key in NOT_TEXT:
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [v for v in value if isinstance(v, str)]
    return " ".join(parts)


@torch.no_grad()
def pooled(encoder, tokenizer, texts: list, settings: SampleSettings) -> np.ndarray:
    """Mean over each text's real tokens of the last layer (texts: strings or (a, b) pairs)."""
    out = []
    for lo in range(0, len(texts), settings.batch_size):
        chunk = texts[lo:lo + settings.batch_size]
        if chunk and isinstance(chunk[0], tuple):
            first, second = [a for a, _ in chunk], [b for _, b in chunk]
            inputs = tokenizer(first, second if any(second) else None, truncation=True,
                               max_length=settings.max_length, padding=True,
                               return_tensors="pt")
        else:
            inputs = tokenizer(chunk, truncation=True, max_length=settings.max_length,
                               padding=True, return_tensors="pt")
        hidden = _hidden(encoder, inputs)
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy())
    width = int(encoder.config.hidden_size)
    return np.concatenate(out) if out else np.zeros((0, width))


def _hidden(encoder, inputs) -> torch.Tensor:
    kept = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
    return encoder(**kept, return_dict=True).last_hidden_state


def with_bias(features: np.ndarray) -> np.ndarray:
    return np.column_stack([features, np.ones(len(features))])


@torch.no_grad()
def labelled_view(task, examples: list[dict], encoder, tokenizer,
                  settings: SampleSettings) -> tuple[np.ndarray, np.ndarray] | None:
    """(features with a bias column, integer labels) of a classification-type task; None for
    formats whose labels are not classes of a fixed set (see the module docstring)."""
    examples = [ex for ex in examples if ex.get("label", ex.get("tags")) is not None]
    if not examples:
        return None
    if task.format == "classification":
        index = {name: i for i, name in enumerate(label_list(task))}
        texts = [(ex["text_a"], ex.get("text_b")) for ex in examples]
        labels = [index[str(ex["label"])] for ex in examples]
        return with_bias(pooled(encoder, tokenizer, texts, settings)), np.asarray(labels)
    if task.format == "multiple_choice":  # about `examples` rows: the first questions' choices
        per = max(len(ex["choices"]) for ex in examples)
        examples = examples[:max(2, math.ceil(settings.examples / per))]
        texts = [(ex["prompt"], str(c)) for ex in examples for c in ex["choices"]]
        labels = [int(j == int(ex["label"])) for ex in examples
                  for j in range(len(ex["choices"]))]
        return with_bias(pooled(encoder, tokenizer, texts, settings)), np.asarray(labels)
    if task.format == "tagging":
        return _word_view(task, examples, encoder, tokenizer, settings)
    return None


def _word_view(task, examples, encoder, tokenizer, settings):
    """Each word's first sub-token vector and its tag (words cut by max_length dropped)."""
    tags = list(task.labels) if task.labels else sorted({t for ex in examples
                                                         for t in ex["tags"]})
    index = {str(t): i for i, t in enumerate(tags)}
    rows, labels = [], []
    for lo in range(0, len(examples), settings.batch_size):
        chunk = examples[lo:lo + settings.batch_size]
        inputs = tokenizer([ex["tokens"] for ex in chunk], is_split_into_words=True,
                           truncation=True, max_length=settings.max_length, padding=True,
                           return_tensors="pt")
        hidden = _hidden(encoder, inputs).float().numpy()
        for i, ex in enumerate(chunk):
            seen = set()
            for pos, word in enumerate(inputs.word_ids(i)):
                if word is None or word in seen or str(ex["tags"][word]) not in index:
                    continue
                seen.add(word)
                rows.append(hidden[i, pos])
                labels.append(index[str(ex["tags"][word])])
    if not rows:
        return None
    return with_bias(np.stack(rows)), np.asarray(labels)


def fisher_layer(encoder) -> list[torch.nn.Parameter]:
    """The parameters the Fisher vector covers: the last transformer layer where the encoder
    has BERT/XLM-R's `encoder.layer`, else every parameter."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    module = layers[-1] if layers is not None and len(layers) else encoder
    return list(module.parameters())


def fisher_vector(task, examples: list[dict], encoder, tokenizer,
                  settings: SampleSettings) -> np.ndarray | None:
    """The diagonal empirical Fisher of `fisher_layer` under the task's loss with a fresh
    seeded head: mean over up to `fisher_batches` mini-batches of the squared gradient.
    None for formats that are never trained (retrieval, mining) or without labels."""
    fmt = get_format(task.format)
    if not fmt.trainable or not examples:
        return None
    if task.format == "mlm":  # its head predicts over this tokenizer's vocabulary
        from dataclasses import replace

        task = replace(task, options={**task.options, "vocab_size": len(tokenizer)})
    features = [fmt.for_epoch(f, 0) for f in
                fmt.featurize(examples, tokenizer, task, settings.max_length)]
    torch.manual_seed(settings.seed)
    head = fmt.build_head(int(encoder.config.hidden_size), task)
    params = fisher_layer(encoder)
    was = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    total = [torch.zeros_like(p) for p in params]
    batches = 0
    try:
        size = settings.fisher_batch_size
        for lo in range(0, min(len(features), size * settings.fisher_batches), size):
            batch = fmt.collate(features[lo:lo + size], tokenizer.pad_token_id)
            loss = fmt.loss(encoder, head, batch)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            for acc, g in zip(total, grads, strict=True):
                if g is not None:
                    acc += g.detach() ** 2
            batches += 1
    finally:
        for p, flag in zip(params, was, strict=True):
            p.requires_grad_(flag)
    if not batches:
        return None
    return torch.cat([t.flatten() for t in total]).double().numpy() / batches


def task_sample(task, examples: list[dict], encoder, tokenizer, settings: SampleSettings,
                trained: bool = True) -> TaskSample:
    """Everything the estimates need from one task's sampled examples (`trained`: whether
    its labels are read: a target that is never trained gives text vectors only)."""
    labelled = labelled_view(task, examples, encoder, tokenizer, settings) if trained else None
    if task.format == "classification" and labelled is not None \
            and len(labelled[1]) == len(examples):
        vectors = labelled[0][:, :-1]  # the pooled (text_a, text_b): its text, encoded once
    else:
        vectors = pooled(encoder, tokenizer, [example_text(ex) for ex in examples], settings)
    fisher = fisher_vector(task, examples, encoder, tokenizer, settings) if trained else None
    return TaskSample(task.name, vectors, labelled, fisher, len(examples))
