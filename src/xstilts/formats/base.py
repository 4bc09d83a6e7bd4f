"""The task-format contract: featurize, collate, head, loss, decode, score, export.

A format owns everything between raw examples and metrics for one kind of task.
Adding a format is one module that subclasses `TaskFormat` and calls `register_format`.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from xstilts.errors import XstiltsError
from xstilts.formats.spec import format_spec
from xstilts.models.unpadded import encode
from xstilts.progress import progress

Feature = dict[str, Any]
Batch = dict[str, torch.Tensor]


def pad_stack(rows: list[list[int]], pad: int) -> torch.Tensor:
    """Right-pad variable-length id lists to one LongTensor (dynamic padding)."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def padded_inputs(rows: list[list[int]], pad: int,
                  token_types: list[list[int] | None] | None = None) -> dict[str, torch.Tensor]:
    """input_ids and attention_mask from lengths (a pad id may also occur as a real token);
    token_type_ids too, padded with 0, when `token_types` has a row for some input (a row
    that is None: type 0 throughout)."""
    ids = pad_stack(rows, pad)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        mask[i, : len(r)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if token_types is not None and any(t is not None for t in token_types):
        batch["token_type_ids"] = pad_stack(
            [[0] * len(r) if t is None else t for r, t in zip(rows, token_types, strict=True)], 0)
    return batch


def encode_inputs(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  output_hidden_states: bool = False, token_type_ids: torch.Tensor | None = None):
    """Run the encoder over the real tokens only where it can (models/unpadded.py), with
    the batch's token_type_ids where it has them (pairs, for tokenizers that type their
    segments: formats/tokenize.py `pair_types`) and the encoder has more than one type."""
    return encode(encoder, input_ids, attention_mask, output_hidden_states, token_type_ids)


def example_error(task, example: dict, problem: str) -> XstiltsError:
    """The error for one unusable example (see `TaskFormat.check_example`)."""
    return XstiltsError(f"task {task.name!r}: example {example.get('id', '?')!r} {problem}.\n"
                        "  fix: correct the data, or the task's declaration (`labels:`, "
                        "`fields:`).")


def require_keys(example: dict, keys: tuple[str, ...], task: str) -> None:
    """Fail clearly when an example lacks a field its format needs."""
    missing = [k for k in keys if k not in example or example[k] is None]
    if missing:
        raise XstiltsError(
            f"task {task!r}: example {example.get('id', '?')!r} has no field(s) {missing}; "
            f"it has {sorted(example)}.\n  fix: map the file's columns to these names with "
            "`fields:` in the task declaration."
        )


class TaskFormat(ABC):
    """One task format. Stateless: per-task settings come in as arguments."""

    name: ClassVar[str]
    # Set from formats/spec.py by the format's name (`__init_subclass__`): see FormatSpec.
    trainable: ClassVar[bool]
    main_metric: ClassVar[str]
    prediction_suffix: ClassVar[str]
    tunes_on_dev: ClassVar[bool]
    encode_length: ClassVar[int | None]
    # The feature cache (xstilts.features) stores each feature field by its kind: "int",
    # "ints" (list of ints), "ints2" (list of lists of ints), "spans" (list of (int, int) or
    # None), "intmap" (dict int -> int), "json" (str, bool, ...) or "context" (not stored:
    # the same object in every feature, rebuilt by `feature_context`). None: never cached.
    feature_fields: ClassVar[dict[str, str] | None] = None
    # Bump when `featurize` gives other features for the same input: cached ones go stale.
    feature_version: ClassVar[int] = 1

    # Keys every example of this format needs (values not None).
    required_keys: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            spec = format_spec(cls.name)
            cls.trainable, cls.main_metric = spec.trainable, spec.main_metric
            cls.prediction_suffix, cls.tunes_on_dev = spec.prediction_suffix, spec.tunes_on_dev
            cls.encode_length = spec.encode_length

    # ---- data -------------------------------------------------------------
    def check_example(self, example: dict, task) -> str | None:
        """What makes one example unusable (a missing field, a label outside the task's
        set), or None. Run on every split a run reads before any training starts."""
        missing = [k for k in self.required_keys if example.get(k) is None]
        if missing:
            return (f"has no field(s) {missing}; it has {sorted(example)} (map the file's "
                    "columns to these names with `fields:` in the task declaration)")
        return None

    @abstractmethod
    def featurize(self, examples: list[dict], tokenizer, task, max_length: int) -> list[Feature]:
        """Tokenize examples into features; each feature keeps `example_index`."""

    @abstractmethod
    def collate(self, features: list[Feature], pad_id: int) -> Batch:
        """Stack features into tensors with dynamic padding."""

    def feature_context(self, tokenizer, task, max_length: int) -> dict[str, Any]:
        """The "context" fields of `feature_fields` (shared by every feature of one
        featurize call), for features read back from the cache; by default none."""
        return {}

    def for_epoch(self, feature: Feature, epoch: int) -> Feature:
        """A training feature as seen in `epoch` (MLM: fresh masks); by default unchanged.

        Called by the training loop before collate, never on dev or test features; must be a
        pure function of (feature, epoch) so that a resumed run sees the same batches.
        """
        return feature

    # ---- model ------------------------------------------------------------
    def build_head(self, hidden_size: int, task) -> nn.Module:
        """A fresh task head on top of the encoder's hidden states."""
        raise NotImplementedError(f"format {self.name!r} has no trainable head")

    def loss(self, encoder: nn.Module, head: nn.Module, batch: Batch) -> torch.Tensor:
        """Training loss of one batch."""
        raise NotImplementedError(f"format {self.name!r} is not trainable")

    @abstractmethod
    def predict_batch(self, encoder: nn.Module, head: nn.Module | None, batch: Batch,
                      task) -> list[Any]:
        """Per-feature raw outputs (numpy/lists) of one batch, in batch order."""

    # ---- results ----------------------------------------------------------
    @abstractmethod
    def decode(self, examples: list[dict], features: list[Feature], outputs: list[Any],
               task) -> dict[str, Any]:
        """Turn per-feature outputs into one prediction per example id."""

    @abstractmethod
    def score(self, examples: list[dict], predictions: dict[str, Any], task,
              lang: str) -> dict[str, float]:
        """Metrics in percent for one language; must include `main_metric`."""

    @abstractmethod
    def write_predictions(self, examples: list[dict], predictions: dict[str, Any], task,
                          path: Path) -> None:
        """Write predictions in the XTREME submission layout (file order = example order)."""

    def write_labels(self, examples: list[dict], task, path: Path) -> None:
        """Write the gold labels in XTREME's labels layout (what its evaluate.py reads)."""
        raise NotImplementedError(f"format {self.name!r} has no XTREME labels layout")

    def prepare(self, task, dev_examples: list[dict], predict) -> Any:
        """The task to test one language with, after settings chosen on that language's dev
        examples (BUCC's mining threshold); `predict(task, examples)` gives predictions.
        Called only when `tunes_on_dev`; by default the task is returned unchanged."""
        return task

    def limit(self, examples: list[dict], n: int, task) -> list[dict]:
        """The first n examples of an evaluation split (`test_limit`)."""
        return examples[:n]

    def trivial_predictions(self, train: list[dict], examples: list[dict], task) -> dict[str, Any]:
        """A trivial baseline (majority class, first span, most frequent tag)."""
        raise NotImplementedError


_FORMATS: dict[str, TaskFormat] = {}


def featurize(fmt: TaskFormat, examples: list[dict], tokenizer, task, max_length: int,
              desc: str, level: int | None = logging.INFO, done: str | None = None,
              min_seconds: float = 0.0) -> list[Feature]:
    """`fmt.featurize` with a bar over the examples (formats advance it with `tick`) and a
    finished line, e.g. `featurised xnli train (en): 392702 examples in 61.0 s`."""
    with progress(total=len(examples), desc=desc, unit="example", level=level,
                  done=done, min_seconds=min_seconds) as bar:
        bar.count = len(examples)
        return fmt.featurize(examples, tokenizer, task, max_length)


def register_format(fmt: TaskFormat) -> TaskFormat:
    """Make a format available by name."""
    _FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str) -> TaskFormat:
    """The format called `name` (its module, named as the format, registers it on import)."""
    if name not in _FORMATS:
        format_spec(name)  # an unknown name is refused
        importlib.import_module(f"xstilts.formats.{name}")
    return _FORMATS[name]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str = "cls") -> torch.Tensor:
    """Sentence vector: first token ("cls") or attention-weighted mean ("mean")."""
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    raise XstiltsError(f"unknown pooling {how!r}.\n  fix: use 'cls' or 'mean'.")


def write_lines(path: Path, lines: list[str]) -> None:
    """Write one value per line, atomically (XTREME's .tsv submission files)."""
    from xstilts.artifacts import write_text_atomic

    write_text_atomic(path, "".join(f"{line}\n" for line in lines))


class PooledHead(nn.Module):
    """Pool → dropout → dense → tanh → dropout → linear (XLM-R's classification head)."""

    def __init__(self, hidden_size: int, n_out: int, pooling: str = "cls", dropout: float = 0.1):
        super().__init__()
        pool(torch.zeros(1, 1, 1), torch.ones(1, 1), pooling)  # validate the name early
        self.pooling = pooling
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, hidden_size),
                                 nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden_size, n_out))

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.net(pool(hidden, attention_mask, self.pooling))


IGNORE_INDEX = -100  # label of positions that carry no loss (padding, non-first sub-tokens)


def token_logits(encoder: nn.Module, head: nn.Module, batch: Batch) -> torch.Tensor:
    """Per-token logits of a token-level head, in float32."""
    out = encode_inputs(encoder, batch["input_ids"], batch["attention_mask"],
                        token_type_ids=batch.get("token_type_ids"))
    return head(out.last_hidden_state).float()


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the positions whose label is not IGNORE_INDEX."""
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(),
                                             ignore_index=IGNORE_INDEX)


def pad_token_labels(rows: list[list[int]], width: int) -> torch.Tensor:
    """Right-pad per-token label lists with IGNORE_INDEX to the batch width."""
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, r in enumerate(rows):
        labels[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return labels

