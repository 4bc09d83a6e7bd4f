"""Which split each job reads: the one rule for model selection, zero-shot evaluation and the
checks before a run.

The protocol has two notions of dev. Model selection reads the English dev set of the
training data (`Task.selection_split`); the paper's per-task table (`eval_split: dev`)
scores each language on its own dev set, and a language without one on test, as jiant does
(jiant `scripts/benchmarks/xtreme/subscripts/c_tokenize_and_cache.sh`: UD-POS kk, th, tl, yo
are tokenized for test only). XQuAD has no dev set at all: jiant scores XQuAD itself.

BUCC (a format that tunes a threshold on dev) has two protocols, chosen by the task option
`protocol`: "xtreme" (the default: threshold from each language's dev/sample data, F1 on
test, XTREME's submission) and "oracle" (the paper's dev table: F1 on the dev/sample data
with the threshold tuned on that same data, as jiant's BUCC evaluation with threshold=None).
"""

from __future__ import annotations

from collections.abc import Iterator

from xstilts.errors import XstiltsError
from xstilts.formats.spec import format_spec
from xstilts.tasks.task import Task

PROTOCOLS = ("xtreme", "oracle")


def mining_protocol(task: Task) -> str:
    """A threshold-tuning task's protocol ("xtreme" or "oracle"); refuses other values."""
    protocol = str(task.options.get("protocol", "xtreme"))
    if protocol not in PROTOCOLS:
        raise XstiltsError(
            f"task {task.name!r}: option protocol is {protocol!r}.\n  fix: use one of "
            f"{list(PROTOCOLS)} (task_options: {{{task.name}: {{protocol: oracle}}}}).")
    return protocol


def scored_split(task: Task, wanted: str, lang: str) -> str:
    """The split `lang` is scored on when the run asks for `wanted` ("dev" or "test")."""
    if format_spec(task.format).tunes_on_dev:
        return "dev" if mining_protocol(task) == "oracle" else "test"
    return "dev" if wanted == "dev" and task.has_dev(lang) else "test"


def threshold_split(task: Task) -> str | None:
    """The split a threshold-tuning task tunes on (for the oracle, the scored split itself);
    None for other formats."""
    return "dev" if format_spec(task.format).tunes_on_dev else None


def is_oracle(task: Task, scored: str) -> bool:
    """Whether the score's threshold was tuned on the scored data itself."""
    return format_spec(task.format).tunes_on_dev and scored == "dev"


def needed_splits(tasks: dict[str, Task], targets, eval_split: str
                  ) -> Iterator[tuple[Task, str, str | None]]:
    """(task, split, language) of every split any job of the run reads, each once; language
    None: the task's training language(s). Trained tasks read train and their selection
    split; the evaluated `targets` their scored split per language (`eval_split` asked for)
    and a threshold's dev split."""
    seen = set()
    for name, task in tasks.items():
        wanted = []
        if format_spec(task.format).trainable:
            wanted += [("train", None), (task.selection_split, None)]
        if name in targets:
            for lang in task.languages:
                split = scored_split(task, eval_split, lang)
                wanted.append((split, lang))
                if threshold_split(task):
                    wanted.append((threshold_split(task), lang))
        for split, lang in wanted:
            if (name, split, lang) not in seen:
                seen.add((name, split, lang))
                yield task, split, lang
