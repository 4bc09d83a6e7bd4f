"""Start encoders kept in memory between the jobs of one worker process.

Every intermediate job of a study starts from the base encoder, and every target job of an
arm from the same checkpoint; reading it from disk (and building its tokenizer) each time
costs seconds to minutes. `load_start_encoder` keeps a pristine copy of the last few
loaded encoders (on the CPU, keyed by location, file sizes and modification times, and the
settings that change loading) and hands each job its own deep copy, so training one never
touches the kept weights. The tokenizer is shared (no job changes it).

A load never draws from the global random generator: weights missing from a checkpoint
(a pooler) are initialised from a fixed seed inside a forked generator. So a kept copy is
the very model a fresh load gives, and what a job draws next (its heads) does not depend
on whether its encoder came from disk or from memory.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from pathlib import Path

import torch

from xstilts.models import encoder as encoder_module

KEEP = 2  # encoders kept per process: the base and the current intermediate checkpoint
LOAD_SEED = 0  # initialises weights a checkpoint lacks

_KEPT: OrderedDict[tuple, tuple] = OrderedDict()


def load_encoder_isolated(location: str, trust_remote_code: bool = False,
                          attention_dropout: float | None = None):
    """`load_encoder` that leaves every global random generator as it found it."""
    # Weights are initialised on the CPU: only its generator is forked and seeded.
    # torch.manual_seed would also reseed every GPU's generator, outside the fork: each job
    # loading from disk would then draw dropout from seed 0, whatever its own seed.
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(LOAD_SEED)
        return encoder_module.load_encoder(location, trust_remote_code, attention_dropout)


def file_stamps(location: str) -> tuple:
    """(name, size, mtime_ns) of a folder's files; () for a hub id."""
    folder = Path(location)
    if not folder.is_dir():
        return ()
    return tuple(sorted((p.name, st.st_size, st.st_mtime_ns)
                        for p in folder.iterdir() if p.is_file()
                        for st in (p.stat(),)))


def load_start_encoder(location: str, trust_remote_code: bool = False,
                       attention_dropout: float | None = None):
    """(encoder, tokenizer) like `load_encoder_isolated`, the encoder a fresh copy of one kept
    in memory when this process loaded the same files with the same settings before."""
    key = (str(location), file_stamps(location), bool(trust_remote_code), attention_dropout)
    if key in _KEPT:
        _KEPT.move_to_end(key)
        kept, tokenizer = _KEPT[key]
        return copy.deepcopy(kept), tokenizer
    encoder, tokenizer = load_encoder_isolated(location, trust_remote_code, attention_dropout)
    _KEPT[key] = (copy.deepcopy(encoder), tokenizer)
    while len(_KEPT) > KEEP:
        _KEPT.popitem(last=False)
    return encoder, tokenizer


def forget_kept() -> None:
    """Drop every kept encoder (frees their memory)."""
    _KEPT.clear()
