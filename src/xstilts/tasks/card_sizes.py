"""Split sizes of the built-in tasks as their dataset cards give them, so a study's cost is
known before any data is on disk (study/cost.py).

A size counts what a batch counts: examples (questions, sentence pairs, sentences), except
SQuAD-style QA training sets, counted as the 384-token windows a question's context gives
(stride 128). Rows the task's converter drops (SNLI's pairs without a gold label) are left
out. Sources: the hub's `dataset_info` (google/xtreme, nyu-mll/glue, stanfordnlp/snli,
facebook/anli, facebook/xnli, google-research-datasets/paws-x, rajpurkar/squad(_v2),
Rowan/hellaswag, allenai/cosmos_qa, tau/commonsense_qa) and the papers where a card gives
none (CCGbank sections 02-21/00/23; XTREME's Table 8 for BUCC). A language missing from a
per-language table takes its "*" entry; tasks or languages whose sizes are not all from a
card are in APPROXIMATE, which the dry run names.
"""

from __future__ import annotations

# task -> split -> examples, or language -> examples ("*": every other language).
CARD_SIZES: dict[str, dict[str, int | dict[str, int]]] = {
    # Intermediate tasks (English).
    "snli": {"train": 549_367, "dev": 9_842},
    "mnli": {"train": 392_702, "dev": 9_815},  # dev: validation_matched
    "anli": {"train": 162_865, "dev": 3_200},  # rounds 1-3: 16,946 + 45,460 + 100,459
    "anli_plus": {"train": 1_104_934, "dev": 3_200},  # SNLI + MNLI + ANLI train; ANLI dev
    "qqp": {"train": 363_846, "dev": 40_430},
    "sst2": {"train": 67_349, "dev": 872},
    "squad": {"train": 88_600, "dev": 10_570},  # 87,599 questions in ~88.6k windows
    "squad_v2": {"train": 132_000, "dev": 11_873},  # 130,319 questions in ~132k windows
    "hellaswag": {"train": 39_905, "dev": 10_042},
    "cosmosqa": {"train": 25_262, "dev": 2_985},
    "commonsenseqa": {"train": 9_741, "dev": 1_221},
    "ccg": {"train": 39_604, "dev": 1_913, "test": 2_407},
    # Translate-train (the English training set machine-translated; dev/test the benchmark's).
    **{f"xnli_tt_{lang}": {"train": 392_702, "dev": 2_490, "test": 5_010}
       for lang in ("ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur",
                    "vi", "zh")},
    **{f"pawsx_tt_{lang}": {"train": 49_401, "dev": 2_000, "test": 2_000}
       for lang in ("de", "es", "fr", "ja", "ko", "zh")},
    # XTREME targets: English training data; dev and test per language.
    "xnli": {"train": 392_702, "selection": 9_815, "dev": {"*": 2_490}, "test": {"*": 5_010}},
    "pawsx": {"train": 49_401, "dev": {"*": 2_000}, "test": {"*": 2_000}},
    "udpos": {"train": 21_253,
              "dev": {"en": 3_974, "de": 19_233, "fr": 5_979, "nl": 1_394, "el": 2_559,
                      "ur": 552, "zh": 3_038, "pt": 1_770, "ru": 9_960, "*": 2_000},
              "test": {"en": 5_440, "de": 22_458, "fr": 9_465, "nl": 1_471, "el": 2_809,
                       "ur": 535, "zh": 5_528, "pt": 2_681, "ru": 11_336, "*": 2_000}},
    "panx": {"train": 20_000,
             "dev": {**dict.fromkeys(("af", "bn", "hi", "kk", "ml", "mr", "ms", "sw", "ta",
                                      "te", "tl", "ur"), 1_000),
                     **dict.fromkeys(("jv", "my", "yo"), 100), "*": 10_000},
             "test": {**dict.fromkeys(("af", "bn", "hi", "kk", "ml", "mr", "ms", "sw", "ta",
                                       "te", "tl", "ur"), 1_000),
                      **dict.fromkeys(("jv", "my", "yo"), 100), "*": 10_000}},
    "xquad": {"train": 88_600, "dev": 10_570, "test": {"*": 1_190}},  # train/dev: SQuAD
    "mlqa": {"train": 88_600, "selection": 10_570,
             "dev": {"en": 1_148, "de": 512, "es": 500, "ar": 517, "hi": 507, "vi": 511,
                     "zh": 504},
             "test": {"en": 11_590, "de": 4_517, "es": 5_253, "ar": 5_335, "hi": 4_918,
                      "vi": 5_495, "zh": 5_137}},
    "tydiqa": {"train": 3_696, "dev": {"en": 440, "ar": 921, "bn": 113, "fi": 782, "id": 565,
                                       "ko": 276, "ru": 812, "sw": 499, "te": 669},
               "test": {"en": 440, "ar": 921, "bn": 113, "fi": 782, "id": 565, "ko": 276,
                        "ru": 812, "sw": 499, "te": 669}},
    "tatoeba": {"test": {"*": 1_000}},  # sentence pairs per language
    "bucc2018": {"dev": {"*": 2_000}, "test": {"*": 20_000}},  # both sides' sentences
}

# Sequences a multiple-choice example is encoded as (one per choice).
CHOICES = {"hellaswag": 4, "cosmosqa": 4, "commonsenseqa": 5}

# Sizes not all from a card: UD-POS languages without an entry, BUCC (orders of magnitude
# from XTREME's Table 8), the QA windows (from the question counts).
APPROXIMATE = frozenset({"udpos", "bucc2018", "squad", "squad_v2", "xquad", "mlqa"})


def card_size(task: str, split: str, lang: str | None = None) -> int | None:
    """Examples of a built-in task's split (in `lang` for per-language splits); None when
    the card table does not have it."""
    entry = CARD_SIZES.get(task, {}).get(split)
    if isinstance(entry, dict):
        return entry.get(lang or "en", entry.get("*"))
    return entry
