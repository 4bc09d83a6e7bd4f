"""Task formats: one module each (classification, multiple choice, span QA, tagging, retrieval, bitext mining, MLM)."""

from xstilts.formats import (  # noqa: F401  (each module registers its format)
    bitext_mining,
    classification,
    mlm,
    multiple_choice,
    retrieval,
    span_qa,
    tagging,
)
from xstilts.formats.base import TaskFormat, get_format, register_format  # noqa: F401
