"""Span QA format: windows, labels, n-best decoding, metrics, export, and a tiny training run."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from xstilts.errors import XstiltsError
from xstilts.formats.span_qa import SpanQAFormat, answer_text
from xstilts.tasks.task import GeneratedSource, Task

FMT = SpanQAFormat()


def make_task(**options) -> Task:
    """A span-QA task whose data never gets loaded (tests pass examples directly)."""
    source = GeneratedSource(generate=lambda split, lang, size, seed: [], sizes={})
    return Task(name="qa", format="span_qa", languages=["en"], source=source, options=options)


def make_example(qid: str, context: str, question: str, answer: str, start: int | None = None):
    """An example whose answer is `answer` at char `start` (default: its first occurrence)."""
    start = context.index(answer) if start is None else start
    assert context[start: start + len(answer)] == answer
    return {"id": qid, "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [start]}}


def gold_outputs(features, only=None):
    """One-hot logits at each feature's labelled start/end (windows without the answer: zeros)."""
    outputs = []
    for i, f in enumerate(features):
        start = np.zeros(len(f["input_ids"]), dtype=np.float32)
        end = np.zeros(len(f["input_ids"]), dtype=np.float32)
        if f["start_position"] != 0 and (only is None or i in only):
            start[f["start_position"]] = 1.0
            end[f["end_position"]] = 1.0
        outputs.append((start, end))
    return outputs


def context_indices(feature) -> list[int]:
    return [i for i, o in enumerate(feature["offsets"]) if o is not None]


def span_text(example, feature, s, e) -> str:
    return example["context"][feature["offsets"][s][0]: feature["offsets"][e][1]].strip()


LONG_CONTEXT = (
    "Many people visit the city every year to see the museums, the parks and the old streets. "
    "The river Seine flows through the city and the tower stands near the river. "
    "A small cat sat on the warm mat while the dog slept under the big wooden table. "
    "The Eiffel Tower was built by the company of Gustave Eiffel in 1889 for the fair. "
    "Every evening the lights of the tower shine over the river and the old bridges. "
    "The second largest city of France is Marseille."
)


def test_short_english_round_trip(tiny_tokenizer):
    task = make_task()
    ex = make_example("q1", "The Eiffel Tower is in Paris, the capital of France.",
                      "  Where is the tower?", "Paris")
    features = FMT.featurize([ex], tiny_tokenizer, task, max_length=64)
    assert len(features) == 1
    assert features[0]["start_position"] > 0
    assert FMT.decode([ex], features, gold_outputs(features), task) == {"q1": "Paris"}


def test_long_context_answer_in_a_later_window(tiny_tokenizer):
    task = make_task(doc_stride=16)
    ex = make_example("q2", LONG_CONTEXT, "What is the second city?", "Marseille")
    features = FMT.featurize([ex], tiny_tokenizer, task, max_length=48)
    assert len(features) >= 3
    assert all(len(f["input_ids"]) <= 48 for f in features)
    labelled = [i for i, f in enumerate(features) if f["start_position"] != 0]
    assert labelled and labelled[0] >= 2  # only the last window(s) see the answer
    assert FMT.decode([ex], features, gold_outputs(features), task) == {"q2": "Marseille"}


def overlap_word(features, context):
    """A word lying wholly inside both windows 1 and 2 (the stride overlap), and its start."""
    first, second = features[1]["offsets"], features[2]["offsets"]
    lo = min(o[0] for o in second if o is not None)
    hi = max(o[1] for o in first if o is not None)
    for m in re.finditer(r"[A-Za-z]{3,}", context):
        if lo < m.start() and m.end() < hi:
            return m.group(), m.start()
    raise AssertionError("no word inside the overlap")


def test_answer_in_the_overlap_of_two_windows(tiny_tokenizer):
    task = make_task(doc_stride=16)
    probe = make_example("p", LONG_CONTEXT, "Which word?", "Marseille")
    word, start = overlap_word(FMT.featurize([probe], tiny_tokenizer, task, 48), LONG_CONTEXT)
    ex = make_example("q3", LONG_CONTEXT, "Which word?", word, start)
    features = FMT.featurize([ex], tiny_tokenizer, task, max_length=48)
    labelled = [i for i, f in enumerate(features) if f["start_position"] != 0]
    assert labelled == [1, 2]
    for i in labelled:
        f = features[i]
        assert span_text(ex, f, f["start_position"], f["end_position"]) == word
    # Either window alone, or both together, must decode to the same original text.
    for only in ({1}, {2}, None):
        assert FMT.decode([ex], features, gold_outputs(features, only), task) == {"q3": word}


@pytest.mark.parametrize("context,question,answer", [
    ("Кремль находится в центре Москвы на берегу реки.", "Где находится Кремль?",
     "в центре Москвы"),
    ("长城在哪里？长城位于中国北部，全长两万多公里。", "长城在哪里？", "中国北部"),
    ("يجري نهر النيل في شمال شرق أفريقيا ويصب في البحر المتوسط.", "أين يصب نهر النيل؟",
     "البحر المتوسط"),
])
def test_non_latin_round_trip(tiny_tokenizer, context, question, answer):
    task = make_task()
    ex = make_example("x", context, question, answer)
    features = FMT.featurize([ex], tiny_tokenizer, task, max_length=64)
    assert FMT.decode([ex], features, gold_outputs(features), task) == {"x": answer}


def test_training_labels(tiny_tokenizer):
    task = make_task(doc_stride=16)
    ex = make_example("q2", LONG_CONTEXT, "What is the second city?", "Marseille")
    start_char = ex["answers"]["answer_start"][0]
    end_char = start_char + len("Marseille")
    for f in FMT.featurize([ex], tiny_tokenizer, task, max_length=48):
        ctx = context_indices(f)
        inside = f["offsets"][ctx[0]][0] <= start_char and f["offsets"][ctx[-1]][1] >= end_char
        if not inside:
            assert (f["start_position"], f["end_position"]) == (0, 0)
            continue
        s, e = f["start_position"], f["end_position"]
        assert ctx[0] <= s <= e <= ctx[-1]
        assert f["offsets"][s][0] <= start_char and f["offsets"][e][1] >= end_char
        assert span_text(ex, f, s, e) == "Marseille"


@pytest.fixture
def one_thread():
    """Tiny tensors run far faster on one thread (and don't fight other test workers)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_unanswerable_and_unlabelled_examples(tiny_tokenizer):
    task = make_task()
    no_answer = {"id": "n", "context": "Paris is big.", "question": "Who?",
                 "answers": {"text": [], "answer_start": []}}
    unlabelled = {"id": "u", "context": "Paris is big.", "question": "Who?"}
    f_no, f_un = FMT.featurize([no_answer, unlabelled], tiny_tokenizer, task, max_length=32)
    assert (f_no["start_position"], f_no["end_position"]) == (0, 0)
    assert "start_position" not in f_un
    assert "start_positions" not in FMT.collate([f_no, f_un], tiny_tokenizer.pad_token_id)


def test_question_is_truncated_first(tiny_tokenizer):
    task = make_task(max_query_length=5)
    ex = make_example("q", "Paris is the capital of France.",
                      "What is the name of the capital city of the country of France?", "Paris")
    (f,) = FMT.featurize([ex], tiny_tokenizer, task, max_length=64)
    assert sum(o is None for o in f["offsets"]) - 4 == 5  # 4 special tokens in a pair


def test_too_short_max_length_fails_clearly(tiny_tokenizer):
    ex = make_example("q", "Paris is the capital of France.", "What is the capital?", "Paris")
    with pytest.raises(XstiltsError, match="doc_stride"):
        FMT.featurize([ex], tiny_tokenizer, make_task(doc_stride=16), max_length=24)


def short_example_and_feature(tokenizer, **options):
    task = make_task(**options)
    ex = make_example("s", "The river Seine flows through the city and the tower stands near "
                      "the river.", "What flows?", "Seine")
    (f,) = FMT.featurize([ex], tokenizer, task, max_length=64)
    return task, ex, f


def test_max_answer_length_respected(tiny_tokenizer):
    task, ex, f = short_example_and_feature(tiny_tokenizer, max_answer_length=3)
    ctx = context_indices(f)
    start = np.full(len(f["input_ids"]), -100.0, dtype=np.float32)
    end = start.copy()
    start[ctx[0]], end[ctx[0] + 5] = 10.0, 10.0  # best pair, but 6 tokens long
    start[ctx[8]], end[ctx[9]] = 5.0, 5.0  # the best pair that fits
    pred = FMT.decode([ex], [f], [(start, end)], task)
    assert pred == {"s": span_text(ex, f, ctx[8], ctx[9])}
    # With room for 6 tokens the long span wins.
    wide = make_task(max_answer_length=6)
    assert FMT.decode([ex], [f], [(start, end)], wide) == {"s": span_text(ex, f, ctx[0], ctx[5])}


def test_end_before_start_never_chosen(tiny_tokenizer):
    task, ex, f = short_example_and_feature(tiny_tokenizer)
    ctx = context_indices(f)
    start = np.full(len(f["input_ids"]), -100.0, dtype=np.float32)
    end = start.copy()
    start[ctx[10]], end[ctx[4]] = 10.0, 10.0  # end before start
    start[ctx[5]], end[ctx[6]] = 4.0, 4.0  # the best pair in order
    assert FMT.decode([ex], [f], [(start, end)], task) == {"s": span_text(ex, f, ctx[5], ctx[6])}


def test_question_tokens_never_chosen_and_no_span_gives_empty(tiny_tokenizer):
    task, ex, f = short_example_and_feature(tiny_tokenizer, n_best=3)
    start = np.zeros(len(f["input_ids"]), dtype=np.float32)
    end = np.zeros_like(start)
    start[:4], end[:4] = 9.0, 9.0  # the top 3 of each are CLS and question tokens
    assert FMT.decode([ex], [f], [(start, end)], task) == {"s": ""}


def test_version_2_null_answer(tiny_tokenizer):
    task, ex, f = short_example_and_feature(tiny_tokenizer, version_2_with_negative=True)
    ctx = context_indices(f)
    start = np.zeros(len(f["input_ids"]), dtype=np.float32)
    end = np.zeros_like(start)
    start[ctx[2]], end[ctx[3]] = 2.0, 2.0
    start[0], end[0] = 3.0, 3.0  # CLS beats the best span
    best = span_text(ex, f, ctx[2], ctx[3])
    # The best non-null answer is kept with null - best = 6 - 4; at threshold 0 it is "".
    pred = FMT.decode([ex], [f], [(start, end)], task)
    assert pred == {"s": {"text": best, "null_diff": 2.0}}
    assert answer_text(pred["s"], 0.0) == "" and answer_text(pred["s"], 2.0) == best
    start[0], end[0] = 1.0, 1.0
    pred = FMT.decode([ex], [f], [(start, end)], task)
    assert pred == {"s": {"text": best, "null_diff": -2.0}} and answer_text(pred["s"]) == best


def test_score_squad_and_mlqa():
    examples = [make_example("a", "The Eiffel Tower is in Paris.", "What?", "Eiffel Tower"),
                make_example("b", "Paris France", "Where?", "Paris")]
    preds = {"a": "the Eiffel Tower", "b": "Paris France"}
    scores = FMT.score(examples, preds, make_task(), "en")
    # a: exact after dropping "the"; b: P=1/2, R=1, F1=2/3; em_f1 = (50 + 83.33) / 2.
    f1 = 100 * (1 + 2 / 3) / 2
    assert scores == pytest.approx({"exact_match": 50.0, "f1": f1, "em_f1": (50 + f1) / 2})
    assert scores["em_f1"] == pytest.approx(200 / 3)
    zh = [make_example("z", "长城位于中国北部。", "哪里？", "中国北部")]
    assert FMT.score(zh, {"z": "中国北部"}, make_task(metric="mlqa"), "zh")["f1"] == 100.0


def test_collate_and_predict_batch(tiny_tokenizer, one_thread):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    task = make_task()
    examples = [make_example("a", "Paris is big.", "Where?", "Paris"),
                make_example("b", "The Eiffel Tower is in Paris, the capital of France.",
                             "What is the capital of France?", "Paris")]
    features = FMT.featurize(examples, tiny_tokenizer, task, max_length=64)
    batch = FMT.collate(features, tiny_tokenizer.pad_token_id)
    assert all(isinstance(v, torch.Tensor) for v in batch.values())
    assert set(batch) == {"input_ids", "attention_mask", "start_positions", "end_positions"}
    n0 = len(features[0]["input_ids"])
    assert (batch["input_ids"][0, n0:] == tiny_tokenizer.pad_token_id).all()
    assert batch["attention_mask"][0].sum() == n0
    torch.manual_seed(0)
    encoder = tiny_encoder(tiny_tokenizer, XLMRobertaConfig, XLMRobertaModel)
    head = FMT.build_head(32, task)
    outputs = FMT.predict_batch(encoder.eval(), head, batch, task)
    for f, (start, end) in zip(features, outputs, strict=True):
        assert start.dtype == np.float32 and start.shape == end.shape == (len(f["input_ids"]),)
    assert set(FMT.decode(examples, features, outputs, task)) == {"a", "b"}


def tiny_encoder(tokenizer, config_cls, model_cls):
    config = config_cls(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, pad_token_id=1,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return model_cls(config, add_pooling_layer=False)


def test_loss_decreases_on_a_tiny_encoder(tiny_tokenizer, one_thread):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    task = make_task()
    examples = [make_example("a", "The Eiffel Tower is in Paris, the capital of France.",
                             "Where is the tower?", "Paris"),
                make_example("b", "Кремль находится в центре Москвы на берегу реки.",
                             "Где находится Кремль?", "в центре Москвы")]
    batch = FMT.collate(FMT.featurize(examples, tiny_tokenizer, task, max_length=64),
                        tiny_tokenizer.pad_token_id)
    encoder = tiny_encoder(tiny_tokenizer, XLMRobertaConfig, XLMRobertaModel)
    head = FMT.build_head(32, task)
    assert isinstance(head, torch.nn.Linear) and head.out_features == 2
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=3e-3)
    losses = []
    for _ in range(30):
        loss = FMT.loss(encoder, head, batch)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_write_predictions(tmp_path):
    examples = [make_example("b", "长城位于中国北部。", "哪里？", "中国北部"),
                make_example("a", "Paris is big.", "Where?", "Paris")]
    path = tmp_path / "out" / "predictions.json"
    FMT.write_predictions(examples, {"a": "Paris", "b": "中国北部"}, make_task(), path)
    assert list(json.loads(path.read_text(encoding="utf-8")).items()) == [
        ("b", "中国北部"), ("a", "Paris")]
    assert "中国北部" in path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_trivial_predictions_first_span():
    train = [make_example(str(i), "x " + a, "?", a) for i, a in
             enumerate(["Paris", "the Eiffel Tower", "Gustave Eiffel"])]
    examples = [make_example("t", "The  Eiffel Tower is tall.", "?", "Eiffel Tower")]
    # Median answer length is 2 words; the original spacing is kept.
    assert FMT.trivial_predictions(train, examples, make_task()) == {"t": "The  Eiffel"}


def test_registered():
    from xstilts.formats.base import get_format

    fmt = get_format("span_qa")
    assert isinstance(fmt, SpanQAFormat)
    assert (fmt.main_metric, fmt.prediction_suffix) == ("f1", "json")
