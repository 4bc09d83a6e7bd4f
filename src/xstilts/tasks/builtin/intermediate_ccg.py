"""Intermediate CCG supertagging from CCGbank (local files only: CCGbank is LDC-licensed).

The supertag set depends on the data, so the task declares no labels: its option
`labels_from_train` makes the pipeline read them from the training file once it is loaded
(supertags seen at least 10 times, as C&C's standard 425-tag set from sections 02-21);
rarer supertags are not trained on and count as errors when scoring. Selection uses token
accuracy, the usual supertagging metric (the tagging format's chunk F1 means nothing here).
See `xstilts.tasks.readers_tokens.CCG_HOWTO` for how to lay out the files.
"""

from __future__ import annotations

from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, Task

CCG_FILES = FileSource("ccg", {"train": "ccg/train.auto", "dev": "ccg/dev.auto",
                               "test": "ccg/test.auto"})

register(Task(
    name="ccg", format="tagging", languages=["en"], source=CCG_FILES, labels=None,
    description="CCG supertagging on CCGbank (WSJ 02-21 train, 00 dev, 23 test); local files "
                "only (LDC2005T13).",
    options={"labels_from_train": 10, "main_metric": "accuracy"},
    alternatives={"local": CCG_FILES}))
