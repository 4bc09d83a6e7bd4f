"""Span-QA windows: window_step (XTREME's doc_stride, a step) against doc_stride (HF's overlap).

A word-level tokenizer makes every context word `wN` one token, so window starts and ends can
be read off the words and checked by hand.
"""

from __future__ import annotations

import pytest

from xstilts.errors import XstiltsError
from xstilts.formats.span_qa import SpanQAFormat
from xstilts.tasks.task import GeneratedSource, Task

FMT = SpanQAFormat()
WORDS = [f"w{i}" for i in range(100)]
CONTEXT = " ".join(WORDS)  # 100 context tokens
SPECIAL = 4  # <s> Q </s> </s> C </s>


@pytest.fixture(scope="module")
def word_tokenizer():
    """One token per whitespace-separated word, XLM-R's pair template (4 special tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab = {t: i for i, t in enumerate([*specials, *WORDS, "where", "is", "it", "q"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", mask_token="<mask>")


def make_task(**options) -> Task:
    source = GeneratedSource(generate=lambda split, lang, size, seed: [], sizes={})
    return Task(name="qa", format="span_qa", languages=["en"], source=source, options=options)


def windows(features) -> list[tuple[int, int, int]]:
    """(example index, first context word, last context word) per feature."""
    out = []
    for f in features:
        spans = [o for o in f["offsets"] if o is not None]
        first, last = CONTEXT[spans[0][0]: spans[0][1]], CONTEXT[spans[-1][0]: spans[-1][1]]
        out.append((f["example_index"], int(first[1:]), int(last[1:])))
    return out


def examples(*questions):
    return [{"id": str(i), "question": q, "context": CONTEXT} for i, q in enumerate(questions)]


def test_window_step_is_the_step_between_window_starts(word_tokenizer):
    # max_length 24: a 3-token question leaves 24 - 3 - 4 = 17 context tokens per window,
    # a 1-token question 19. With step 8 both step 0, 8, 16, ... whatever the question.
    exs = examples("where is it", "q")
    feats = FMT.featurize(exs, word_tokenizer, make_task(window_step=8), max_length=24)
    assert all(len(f["input_ids"]) <= 24 for f in feats)
    got = windows(feats)
    # Example order first (the longer question is tokenized in another call), then windows.
    assert [e for e, _, _ in got] == sorted(e for e, _, _ in got)
    for ex, room in ((0, 17), (1, 19)):
        mine = [(a, b) for e, a, b in got if e == ex]
        starts = [a for a, _ in mine]
        assert starts == list(range(0, 8 * len(mine), 8))
        # Full windows hold `room` tokens; the last one ends at the context's end.
        assert all(b - a + 1 == room for a, b in mine[:-1])
        assert mine[-1][1] == 99 and mine[-2][1] < 99
        covered = {w for a, b in mine for w in range(a, b + 1)}
        assert covered == set(range(100))


def test_window_step_of_128_in_xtreme_windows(word_tokenizer):
    # XTREME's setting on a small scale: room 17 < step 128 means adjacent windows (overlap
    # clamped at 0), never skipped tokens.
    feats = FMT.featurize(examples("where is it"), word_tokenizer, make_task(window_step=128),
                          max_length=24)
    got = [(a, b) for _, a, b in windows(feats)]
    assert got[:2] == [(0, 16), (17, 33)]
    assert {w for a, b in got for w in range(a, b + 1)} == set(range(100))


def test_doc_stride_keeps_its_overlap_meaning(word_tokenizer):
    # doc_stride 5 = 5 shared tokens: steps of room - 5, i.e. 12 and 14 for the two questions.
    exs = examples("where is it", "q")
    for task in (make_task(doc_stride=5), make_task()):  # default: min(128, 24 // 4) = 6
        stride = task.options.get("doc_stride", 6)
        got = windows(FMT.featurize(exs, word_tokenizer, task, max_length=24))
        for ex, room in ((0, 17), (1, 19)):
            starts = [a for e, a, _ in got if e == ex]
            assert starts == list(range(0, (room - stride) * len(starts), room - stride))


def test_window_step_and_doc_stride_together_fail_clearly(word_tokenizer):
    with pytest.raises(XstiltsError, match="window_step .* doc_stride .* both"):
        FMT.featurize(examples("q"), word_tokenizer, make_task(window_step=8, doc_stride=4), 24)
    # null switches the other off (how task_options overrides a built-in's window_step).
    feats = FMT.featurize(examples("q"), word_tokenizer,
                          make_task(window_step=None, doc_stride=4), 24)
    assert [a for _, a, _ in windows(feats)][:2] == [0, 15]


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_bad_window_step_fails_clearly(word_tokenizer, bad):
    with pytest.raises(XstiltsError, match="window_step"):
        FMT.featurize(examples("q"), word_tokenizer, make_task(window_step=bad), 24)


def test_no_room_for_context_fails_clearly(word_tokenizer):
    with pytest.raises(XstiltsError, match="no context tokens"):
        FMT.featurize(examples("where is it"), word_tokenizer, make_task(window_step=8),
                      max_length=3 + SPECIAL)


@pytest.mark.parametrize("name", ["xquad", "mlqa", "tydiqa", "squad", "squad_v2"])
def test_builtin_qa_tasks_use_xtreme_windows(name):
    from xstilts.tasks.registry import resolve_task

    opts = resolve_task(name, {}).options
    assert (opts["max_length"], opts["window_step"]) == (384, 128)
    assert "doc_stride" not in opts
