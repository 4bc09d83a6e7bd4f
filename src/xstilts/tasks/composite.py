"""Sources built from other sources: per-split routing, renamed languages, whole-split fix-ups.

Each has the has/load/describe interface of `FileSource`/`HubSource`, so a Task can use one
wherever it takes a source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _name(fn) -> str:
    return f"{fn.__module__}.{getattr(fn, '__qualname__', repr(fn))}"


@dataclass(frozen=True)
class SplitSource:
    """Each split from its own source (e.g. XNLI: train from MultiNLI, test from XNLI)."""

    sources: dict  # split -> source

    def has(self, split: str) -> bool:
        return split in self.sources and self.sources[split].has(split)

    def load(self, split: str, lang: str) -> list[dict]:
        return self.sources[split].load(split, lang)

    def describe(self) -> dict:
        return {"splits": {split: src.describe() for split, src in self.sources.items()}}


@dataclass(frozen=True)
class LangMapSource:
    """Another source asked for a renamed language (de -> "German" for udpos.German)."""

    inner: object
    names: dict  # our language code -> the inner source's name for it

    def has(self, split: str) -> bool:
        return self.inner.has(split)

    def load(self, split: str, lang: str) -> list[dict]:
        return self.inner.load(split, self.names.get(lang, lang))

    def describe(self) -> dict:
        return {"source": self.inner.describe(), "lang_names": self.names}


@dataclass(frozen=True)
class PostSource:
    """Another source's split passed through `finish(examples, lang)` (whole-split fix-ups)."""

    inner: object
    finish: Callable[[list[dict], str], list[dict]]

    def has(self, split: str) -> bool:
        return self.inner.has(split)

    def load(self, split: str, lang: str) -> list[dict]:
        return self.finish(self.inner.load(split, lang), lang)

    def describe(self) -> dict:
        return {"source": self.inner.describe(), "finish": _name(self.finish)}


@dataclass(frozen=True)
class ConcatSource:
    """Several sources' examples of one split, one after another (ANLI+ = SNLI + MNLI + ANLI).

    A part without the split is skipped, so parts can differ per split (train from all,
    dev from one). With `names`, each id becomes "name:id": hub rows without ids are
    numbered per dataset, so two parts would otherwise both have "train-0".
    """

    parts: tuple  # sources, in order
    names: tuple = ()  # one per part, or none (the parts' ids must then be distinct)

    def __post_init__(self):
        if self.names and len(self.names) != len(self.parts):
            raise ValueError(f"ConcatSource: {len(self.parts)} parts but names {self.names}")

    def has(self, split: str) -> bool:
        return any(part.has(split) for part in self.parts)

    def load(self, split: str, lang: str) -> list[dict]:
        out: list[dict] = []
        for i, part in enumerate(self.parts):
            if not part.has(split):
                continue
            examples = part.load(split, lang)
            if self.names:
                examples = [{**ex, "id": f"{self.names[i]}:{ex.get('id')}"} for ex in examples]
            out.extend(examples)
        ids = [ex.get("id") for ex in out]
        if len(set(ids)) != len(ids):
            # Predictions are keyed by id, so a clash would silently merge two examples.
            from xstilts.errors import XstiltsError

            raise XstiltsError(f"the concatenated {split!r} split has repeated example ids."
                               "\n  fix: give the ConcatSource `names` (id prefixes).")
        return out

    def describe(self) -> dict:
        return {"concat": [part.describe() for part in self.parts], "names": list(self.names)}
