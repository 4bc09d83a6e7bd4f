"""Reading a task split from the Hugging Face hub with `datasets` (the real-run path)."""

from __future__ import annotations

from xstilts.errors import XstiltsError
from xstilts.tasks.reader_io import CONVERTER_DROPS, note_dropped


def load_hub_split(source, split: str, lang: str) -> list[dict]:
    """Rows of one hub split, converted to examples of the task's format."""
    try:
        import datasets
    except ImportError as exc:
        raise XstiltsError(
            f"reading {source.dataset!r} from the Hugging Face hub needs the `datasets` "
            "package.\n  fix: pip install 'xstilts[hub]', or use local files "
            "(`data: {source: local, dir: PATH}`)."
        ) from exc
    config = source.config.format(lang=lang) if source.config else None
    hub_split = source.splits[split].format(lang=lang)
    try:
        rows = datasets.load_dataset(source.dataset, config, split=hub_split,
                                     revision=source.revision)
    except Exception as exc:  # network, missing config, auth: all end the same way for a user
        raise XstiltsError(
            f"could not load {source.dataset!r} (config {config!r}, split {hub_split!r}) from "
            f"the hub: {exc}\n  fix: check the name and your connection, or point "
            "`data: {source: local, dir: PATH}` at downloaded files."
        ) from exc
    out = []
    for i, row in enumerate(rows):
        example = source.convert(dict(row), lang)
        if example is not None:
            # Many hub rows have no id (XNLI, PAN-X, ...); the row's index in the split is stable.
            example.setdefault("id", f"{hub_split}-{i}")
            out.append(example)
    note_dropped(len(rows) - len(out), CONVERTER_DROPS)
    return out
