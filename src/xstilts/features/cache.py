"""A content-keyed feature cache: each split is tokenised once per store, not once per job.

    STORE/features/<key>/   meta.json and NumPy columns (features/codec.py), memory-mapped

The key covers everything featurize reads: the examples themselves (a hash of their
content, so test_limit/dev_limit cuts, generated and hub data are all covered), the task's
name, labels and options, the split and language, the tokenizer (a hash of its full
definition, wherever it was loaded from), the sequence length, the format with its
`feature_version`, the code version, and whether the tokenizer types a pair's segments
(then pair features carry token_type_ids). Folders are written atomically and may be
deleted at any time (they are made again when needed). A folder that cannot be read is
treated as absent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from xstilts import __version__
from xstilts.artifacts import AtomicDir, content_key
from xstilts.features.codec import CODEC_VERSION, ColumnFeatures, write_columns
from xstilts.formats.base import featurize as progress_featurize
from xstilts.formats.tokenize import pair_types
from xstilts.tasks.known_splits import LazyExamples
from xstilts.tasks.task import keyed_options

log = logging.getLogger(__name__)

_EXAMPLE_DIGESTS: OrderedDict[int, tuple[list, int, str]] = OrderedDict()
_DIGEST_MEMO = 64  # example lists remembered by identity (the per-process split cache's)


def tokenizer_identity(tokenizer) -> str | None:
    """A hash of what a fast tokenizer does (its full definition, less the truncation and
    padding state that calls leave behind); None for a tokenizer without one.

    Not remembered per object: a tokenizer can change (added tokens), and hashing its
    definition takes a fraction of a second even for a 250k vocabulary.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    truncation, padding = backend.truncation, backend.padding
    backend.no_truncation()
    backend.no_padding()
    try:
        definition = backend.to_str()
    finally:  # put back the state the wrapper set last
        if truncation:
            backend.enable_truncation(**truncation)
        if padding:
            backend.enable_padding(**padding)
    digest = hashlib.sha256(definition.encode("utf-8"))
    digest.update(json.dumps([type(tokenizer).__name__, sorted(tokenizer.all_special_ids),
                              len(tokenizer)]).encode("utf-8"))
    return digest.hexdigest()


def examples_digest(examples: list[dict]) -> str:
    """sha256 of the examples' content (remembered for the same list object, and for files
    read before: tasks/known_splits.py)."""
    if isinstance(examples, LazyExamples):
        digest = examples.known("examples_digest")
        if digest is None:
            digest = examples_digest(examples.examples())
            examples.remember(examples_digest=digest)
        return digest
    memo = _EXAMPLE_DIGESTS.get(id(examples))
    if memo is not None and memo[0] is examples and memo[1] == len(examples):
        _EXAMPLE_DIGESTS.move_to_end(id(examples))
        return memo[2]
    # One encoder call over the whole list: half the time of one call per example (392k
    # sentence pairs: 0.7 s against 1.4 s).
    blob = json.dumps(examples, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    _EXAMPLE_DIGESTS[id(examples)] = (examples, len(examples), digest)
    while len(_EXAMPLE_DIGESTS) > _DIGEST_MEMO:
        _EXAMPLE_DIGESTS.popitem(last=False)
    return digest


class FeatureCache:
    """Features by content key under `root` (STORE/features); counts its hits and misses."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def describe(self, fmt, examples, tokenizer, task, max_length: int, split: str,
                 lang: str | None) -> dict | None:
        """What the key is made of; None when these features cannot be cached."""
        tokenizer_id = tokenizer_identity(tokenizer)
        if fmt.feature_fields is None or tokenizer_id is None:
            return None
        key = {"code": __version__, "codec": CODEC_VERSION, "format": fmt.name,
               "feature_version": fmt.feature_version, "task": task.name, "split": split,
               "lang": lang, "labels": list(task.labels) if task.labels else None,
               "options": keyed_options(task.options), "tokenizer": tokenizer_id,
               "max_length": int(max_length), "examples": examples_digest(examples),
               "n_examples": len(examples)}
        if pair_types(tokenizer):
            # Pair features carry token_type_ids (formats/tokenize.py `pair_types`); those
            # cached before they did lack them. Only here: other tokenizers' keys (XLM-R's,
            # e5-small's) are unchanged, and so are their features.
            key["token_types"] = True
        return key

    def featurize(self, fmt, examples: list[dict], tokenizer, task, max_length: int,
                  split: str, lang: str | None = None, **shown) -> Sequence[dict]:
        """`fmt.featurize(examples, tokenizer, task, max_length)`, read from the cache when
        it holds them, else computed (with the progress `shown`: formats.base.featurize's
        desc, level, done, min_seconds) and stored."""
        described = self.describe(fmt, examples, tokenizer, task, max_length, split, lang)
        if described is None:
            return with_progress(fmt, examples, tokenizer, task, max_length, **shown)
        folder = self.root / content_key(described)
        cached = self._read(folder, fmt, tokenizer, task, max_length)
        if cached is not None:
            self.hits += 1
            log.debug("features of %s %s (%s): from the cache (%s)", task.name, split,
                      lang or "train languages", folder.name)
            return cached
        self.misses += 1
        features = with_progress(fmt, examples, tokenizer, task, max_length, **shown)
        try:
            with AtomicDir(folder, first_wins=True) as tmp:
                meta = write_columns(features, fmt.feature_fields, tmp)
                (tmp / "meta.json").write_text(json.dumps({**meta, "key": described},
                                                          indent=1, default=str),
                                               encoding="utf-8")
        except (OSError, ValueError) as exc:
            # A full or read-only disk, or features the format's feature_fields do not
            # describe (a user format): that costs speed, never the run.
            log.warning("feature cache: could not write %s: %s", folder, exc)
        return features

    @staticmethod
    def _read(folder: Path, fmt, tokenizer, task, max_length: int) -> ColumnFeatures | None:
        meta_path = folder / "meta.json"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            context = fmt.feature_context(tokenizer, task, max_length)
            return ColumnFeatures(folder, meta, context)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Unreadable (a torn copy, another version, replaced while read): featurize again.
            log.warning("feature cache: ignoring %s: %s", folder, exc)
            return None


def featurize(cache: FeatureCache | None, fmt, examples: list[dict], tokenizer, task,
              max_length: int, split: str, lang: str | None = None, **shown) -> Sequence[dict]:
    """Features of `examples` through `cache` (None: featurize them, nothing kept); `shown`:
    the progress bar and finished line of a featurisation (formats.base.featurize)."""
    if cache is None:
        return with_progress(fmt, examples, tokenizer, task, max_length, **shown)
    return cache.featurize(fmt, examples, tokenizer, task, max_length, split, lang, **shown)


def with_progress(fmt, examples: list[dict], tokenizer, task, max_length: int,
                  desc: str | None = None, **shown) -> list[dict]:
    """fmt.featurize under a progress bar (labelled `desc`, default `featurise TASK`)."""
    return progress_featurize(fmt, examples, tokenizer, task, max_length,
                              desc or f"featurise {task.name}", **shown)
