"""What the benchmark scripts share: the machine they ran on, the real data files as xstilts
task declarations, which encoder to use, and one markdown table per run.

The scripts are run as `python benchmarks/NAME.py`, so this module is importable as `bench_common`.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

# ../shared/data seen from the repository root (README of that folder: the real files).
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
QUICK_ENCODER = "tiny-random"
GPU_ENCODER = "xlm-roberta-base"  # the model when a GPU is present (if cached locally)

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]
# UD treebank file prefix per language ({lang3} in the test path), as tests/test_realdata_e5.py.
UD_FILES = {"en": "en_ewt", "de": "de_gsd", "es": "es_gsd"}
UD_TRAIN = "en_ewt-ud-dev.conllu"  # English EWT dev: the training data of the real-file tests


def machine_lines() -> list[str]:
    """CPU model, cores, torch/transformers versions and the GPU (if any), one per line."""
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [f"machine: {cpu}; {os.cpu_count()} cores ({usable} usable), "
             f"{torch.get_num_threads()} torch threads",
             f"python {sys.version.split()[0]}, torch {torch.__version__}, "
             f"transformers {transformers.__version__}"]
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        lines.append(f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB "
                     f"(CUDA {torch.version.cuda})")
    else:
        lines.append("GPU: none (CPU run)")
    return lines


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    """One markdown table (pasteable into benchmarks/README.md), preceded by the machine."""
    print()
    print(f"## {title}")
    for line in machine_lines():
        print(f"- {line}")
    print()
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


SHAPED = "xlmr-base-shaped"  # XLM-R base's architecture with random weights (see below)


def xlmr_base_shaped(quick: bool = False) -> Path:
    """A local model folder of XLM-R base's shape (12 layers, width 768, 12 heads, FFN 3072,
    514 positions) with random weights and e5-small's tokenizer (XLM-R's 250k-piece
    SentencePiece vocabulary; or the tokenizer in the folder $BENCH_TOKENIZER), made once in
    the xstilts cache. Throughput and MFU depend on
    the shapes, not on the weights, and it needs no download (the hub is unreachable on the
    project's machines, the GPU machine included). `quick`: 2 layers of width 64."""
    import torch
    from transformers import AutoTokenizer, XLMRobertaModel

    from xstilts.artifacts import AtomicDir, cache_root
    from xstilts.models.encoder import resolve_encoder

    folder = cache_root() / "encoders" / (SHAPED + ("-quick" if quick else "") + "-v1")
    if (folder / "config.json").exists():
        return folder
    # BENCH_TOKENIZER: a folder with XLM-R's tokenizer (the GPU machine: benchmarks/gpu_kit.sh).
    tokenizer = AutoTokenizer.from_pretrained(os.environ.get("BENCH_TOKENIZER")
                                              or resolve_encoder("e5-small"))
    torch.manual_seed(0)
    with AtomicDir(folder) as tmp:
        XLMRobertaModel(shaped_config(tokenizer, quick), add_pooling_layer=False
                        ).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return folder


def shaped_config(tokenizer, quick: bool = False):
    """XLM-R base's configuration (transformers' XLMRobertaConfig defaults are its shape) for
    this tokenizer; `quick`: 2 layers of width 64."""
    from transformers import XLMRobertaConfig

    shape = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=2,
                 intermediate_size=128) if quick else {}
    return XLMRobertaConfig(vocab_size=len(tokenizer), max_position_embeddings=514,
                            type_vocab_size=1, pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=tokenizer.bos_token_id,
                            eos_token_id=tokenizer.eos_token_id, **shape)


def pick_encoder(requested: str, quick: bool) -> str:
    """--quick: tiny-random. "auto": XLM-R base on a GPU when it loads without the network
    (the hub is unreachable on the project's machines), else e5-small. "xlmr-base-shaped":
    `xlmr_base_shaped()`."""
    if requested == SHAPED:
        return str(xlmr_base_shaped(quick))
    if quick:
        return QUICK_ENCODER
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        try:
            from transformers import AutoConfig

            AutoConfig.from_pretrained(GPU_ENCODER, local_files_only=True)
            return GPU_ENCODER
        except OSError:
            print(f"note: {GPU_ENCODER} is not in the local Hugging Face cache; using e5-small")
    return "e5-small"


# What the benchmarks import beyond xstilts' own dependencies (pyproject.toml's `bench` extra).
BENCH_EXTRA = 'pip install -e ".[bench]"'


def require_modules(*names: str, needed_by: str) -> None:
    """Stop with the command that installs the benchmarks' extra when a module they need (and
    xstilts does not) is missing, before any work, instead of an ImportError deep in a run."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            sys.exit(f"{needed_by} needs the Python package '{name}', which does not import "
                     f"here ({exc}).\n  fix: {BENCH_EXTRA}  (the benchmarks' extra), or "
                     f"pip install {name}")


def require_data(data: Path, *folders: str) -> None:
    """Stop with a clear message when the real files are not there."""
    for folder in folders:
        if not (data / folder).is_dir():
            sys.exit(f"{data / folder}: not found.\n  fix: give --data the folder that holds "
                     f"{', '.join(f + '/' for f in folders)} (default {DEFAULT_DATA}).")


def xquad_declaration(data: Path, articles: tuple[int, int] | None = None) -> dict:
    """XQuAD in every language whose file is present, as HF run_qa.py windows it: 384 tokens,
    doc_stride 128 tokens shared by neighbouring windows. Train/dev/test are the same file(s);
    `articles` limits every split to a range of articles."""
    langs = sorted(p.name.split(".")[1] for p in (data / "xquad").glob("xquad.*.json"))
    if "en" in langs:  # English first: it is the training language
        langs.remove("en")
        langs.insert(0, "en")
    declaration = {"format": "span_qa", "languages": langs, "reader": "squad_json",
                   "base_dir": str(data / "xquad"),
                   "paths": {s: "xquad.{lang}.json" for s in ("train", "dev", "test")},
                   "options": {"doc_stride": 128, "max_length": 384}}
    if articles:
        declaration["reader_options"] = {"articles": list(articles)}
    return declaration


def udpos_declaration(data: Path) -> dict:
    """UD POS: trained on English EWT dev; tested on every test file present."""
    langs = [lang for lang, prefix in UD_FILES.items()
             if (data / "udpos" / f"{prefix}-ud-test.conllu").exists()]
    return {"format": "tagging", "languages": langs, "reader": "conllu",
            "base_dir": str(data / "udpos"), "labels": UPOS,
            "paths": {"train": UD_TRAIN, "dev": UD_TRAIN, "test": "{lang3}-ud-test.conllu"},
            "reader_options": {"lang_codes": {lang: UD_FILES[lang] for lang in langs}}}


def tatoeba_declaration(data: Path) -> dict:
    """Tatoeba retrieval in every XTREME language whose pair of files is present."""
    from xstilts.tasks.xtreme_langs import TATOEBA_ISO3

    codes = {lang: iso3 for lang, iso3 in TATOEBA_ISO3.items()
             if (data / "tatoeba" / f"tatoeba.{iso3}-eng.{iso3}").exists()}
    return {"format": "retrieval", "languages": list(codes), "reader": "tatoeba",
            "base_dir": str(data / "tatoeba"), "paths": {"test": "tatoeba.{lang3}-eng.{lang3}"},
            "reader_options": {"lang_codes": codes}}


def add_common_arguments(parser, steps: int, steps_help: str = "training steps per run") -> None:
    """--steps, --quick, --data and --encoder, the same in every script."""
    parser.add_argument("--steps", type=int, default=steps, help=steps_help + " [%(default)s]")
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings and the tiny-random encoder (a smoke test)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with xquad/, udpos/ (and tatoeba/) [%(default)s]")
    parser.add_argument("--encoder", default="auto",
                        help="auto (XLM-R base on a GPU if cached, else e5-small), e5-small, "
                             "tiny-random, xlmr-base-shaped (XLM-R base's shape, random "
                             "weights: for throughput and MFU), a local folder or a hub id")
