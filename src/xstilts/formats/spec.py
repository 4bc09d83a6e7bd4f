"""What planning needs to know of each task format, without importing torch.

The formats themselves (featurize, heads, decoding: the other modules of this package) take
these facts from here (`TaskFormat.__init_subclass__`), so they are stated once.
"""

from __future__ import annotations

from dataclasses import dataclass

from xstilts.errors import XstiltsError

# XTREME's max_seq_length for Tatoeba and BUCC (google/xtreme scripts/run_tatoeba.sh and
# scripts/run_bucc2018.sh: MAX_LEN=512).
RETRIEVAL_LENGTH = 512


@dataclass(frozen=True)
class FormatSpec:
    name: str
    main_metric: str  # the metric checkpoint selection and averages use
    trainable: bool = True  # False: zero-shot from the encoder itself (no target training)
    prediction_suffix: str = "tsv"  # XTREME's submission file type
    tunes_on_dev: bool = False  # a setting (BUCC's threshold) tuned on each language's dev
    # Untrained formats encode at their own length (task option `max_length`, else this),
    # capped by the model; None: the phase's sequence length.
    encode_length: int | None = None


# Each name is also the module of this package that implements the format.
FORMAT_SPECS = {spec.name: spec for spec in (
    FormatSpec("classification", "accuracy"),
    FormatSpec("multiple_choice", "accuracy"),
    FormatSpec("span_qa", "f1", prediction_suffix="json"),
    FormatSpec("tagging", "f1"),
    FormatSpec("mlm", "accuracy"),
    FormatSpec("retrieval", "accuracy", trainable=False, encode_length=RETRIEVAL_LENGTH),
    FormatSpec("bitext_mining", "f1", trainable=False, tunes_on_dev=True,
               encode_length=RETRIEVAL_LENGTH),
)}


def format_spec(name: str) -> FormatSpec:
    """The facts of the format called `name`; an unknown name is refused."""
    if name not in FORMAT_SPECS:
        raise XstiltsError(f"unknown task format {name!r}.\n  fix: use one of "
                           f"{', '.join(sorted(FORMAT_SPECS))}.")
    return FORMAT_SPECS[name]
