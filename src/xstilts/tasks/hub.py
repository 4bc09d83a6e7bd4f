"""Reading a task split from the Hugging Face hub with `datasets` (the real-run path).

A local copy of the hub ("mirror") can stand in for it, e.g. on clusters whose compute nodes
have no internet: with `data.hub_mirror` (or $XSTILTS_HUB_MIRROR) set to ROOT, the hub
dataset `owner/name` is read from the folder ROOT/owner/name, in the hub repository's own
layout (what `hf download --repo-type dataset owner/name --local-dir ROOT/owner/name` writes),
through the same `datasets.load_dataset` call with the same config and split names. The
mirror changes where the data is read from, not what it is: content keys stay the same.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from xstilts.errors import XstiltsError
from xstilts.tasks.reader_io import CONVERTER_DROPS, note_dropped

HUB_MIRROR_ENV = "XSTILTS_HUB_MIRROR"


def mirrored(value, root: str):
    """The same (possibly composite) source with every HubSource in it reading from the local
    copy of the hub under `root`."""
    from xstilts.tasks.task import HubSource

    if isinstance(value, HubSource):
        return dataclasses.replace(value, mirror=str(root))
    if isinstance(value, dict):
        return {k: mirrored(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mirrored(v, root) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and hasattr(value, "load"):
        return dataclasses.replace(value, **{f.name: mirrored(getattr(value, f.name), root)
                                             for f in dataclasses.fields(value) if f.init})
    return value


def download_command(dataset: str, root: str | Path, revision: str | None = None) -> str:
    """The `hf download` command that fills ROOT/owner/name with the hub's copy of `dataset`."""
    rev = f" --revision {revision}" if revision else ""
    return (f"hf download --repo-type dataset {dataset}{rev} "
            f"--local-dir {Path(root) / dataset}")


def mirror_root(source) -> str | None:
    """The local copy of the hub to read `source` from (None: the hub itself): the
    HubSource's own (`data.hub_mirror`), else $XSTILTS_HUB_MIRROR."""
    return source.mirror or os.environ.get(HUB_MIRROR_ENV) or None


def mirror_folder(source, root: str) -> Path:
    """ROOT/owner/name for `source.dataset`. A mirror without the dataset's folder is an
    error: a run never falls back to the network behind the user's back."""
    folder = Path(root).expanduser() / source.dataset
    if not folder.is_dir():
        setting = "data.hub_mirror" if source.mirror else f"${HUB_MIRROR_ENV}"
        raise XstiltsError(
            f"{folder}: no local copy of the hub dataset {source.dataset!r}, but {setting} "
            f"({root}) says to read the hub from there.\n  fix: on a machine with internet, "
            f"run `{download_command(source.dataset, root, source.revision)}` and copy the "
            f"folder to {folder}; or unset {setting} to read the hub itself."
        )
    return folder


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
    root = mirror_root(source)
    folder = mirror_folder(source, root) if root else None
    try:
        rows = datasets.load_dataset(str(folder) if folder else source.dataset, config,
                                     split=hub_split, revision=source.revision)
    except Exception as exc:  # network, missing config, auth: all end the same way for a user
        if folder is not None:
            raise XstiltsError(
                f"could not load {source.dataset!r} (config {config!r}, split {hub_split!r}) "
                f"from its local copy {folder}: {exc}\n  fix: fill the folder again with "
                f"`{download_command(source.dataset, root, source.revision)}` (the "
                "repository's own layout, as that command writes it)."
            ) from exc
        raise XstiltsError(
            f"could not load {source.dataset!r} (config {config!r}, split {hub_split!r}) from "
            f"the hub: {exc}\n  fix: check the name and your connection, point "
            "`data: {source: local, dir: PATH}` at downloaded files, or read a local copy of "
            f"the hub (`data: {{hub_mirror: DIR}}` or ${HUB_MIRROR_ENV}=DIR)."
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
