"""Token tagging (POS, NER): words → sub-tokens, one label per word, scored per word.

Which sub-token carries a word's label is a setting (`label_position` in the task options):
- "first" (default, as the official XTREME scripts): the first sub-token;
- "first_nonempty": the first sub-token that is not a bare "▁" piece. SentencePiece
  tokenizers split most Chinese words as ["▁", "中", ...]; labelling the bare "▁" loses
  the word (measured zero-shot zh POS: 26.6 with "first", 67.0 with "first_nonempty").
"""

from __future__ import annotations

from collections import Counter, defaultdict

from torch import nn

from xstilts.errors import XstiltsError
from xstilts.evaluate.metrics import seqeval_prf, token_accuracy
from xstilts.formats.base import (
    IGNORE_INDEX,
    TaskFormat,
    example_error,
    pad_token_labels,
    padded_inputs,
    register_format,
    token_logits,
    token_loss,
)
from xstilts.formats.tokenize import in_chunks

IGNORE = IGNORE_INDEX
LABEL_POSITIONS = ("first", "first_nonempty")


def tag_list(task) -> list[str]:
    """The task's tag set; tagging needs it declared."""
    if not task.labels:
        raise XstiltsError(
            f"task {task.name!r} has no tag list.\n  fix: add `labels: [...]` to its declaration."
        )
    return [str(x) for x in task.labels]


def default_tag(tags: list[str]) -> str:
    """What a word the model never saw (truncated away) is given: "O" when it exists."""
    return "O" if "O" in tags else tags[0]


def labelled_positions(word_ids: list, tokens: list[str], how: str) -> dict[int, int]:
    """Map word index → the sub-token position that carries its label."""
    if how not in LABEL_POSITIONS:
        raise XstiltsError(f"unknown label_position {how!r}.\n  fix: use one of {LABEL_POSITIONS}.")
    pieces = defaultdict(list)
    for pos, w in enumerate(word_ids):
        if w is not None:
            pieces[w].append(pos)
    chosen = {}
    for w, positions in pieces.items():
        chosen[w] = positions[0]
        if how == "first_nonempty":
            for pos in positions:
                if tokens[pos] != "▁":
                    chosen[w] = pos
                    break
    return chosen


def write_sentences(path, sentences: list[list[str]]) -> None:
    """XTREME's tagging layout: one tag per line, a blank line after each sentence."""
    from xstilts.artifacts import write_text_atomic

    write_text_atomic(path, "".join("".join(f"{t}\n" for t in tags) + "\n" for tags in sentences))


class TaggingFormat(TaskFormat):
    name = "tagging"
    feature_fields = {"input_ids": "ints", "example_index": "int", "word_positions": "intmap",
                      "labels": "ints"}

    required_keys = ("tokens",)

    def check_example(self, example, task):
        problem = super().check_example(example, task)
        if problem:
            return problem
        if not isinstance(example["tokens"], list):
            return f"has {type(example['tokens']).__name__} tokens, not a list"
        tags = example.get("tags")
        if tags is None:
            return None
        if not isinstance(tags, list) or len(tags) != len(example["tokens"]):
            n = len(tags) if isinstance(tags, list) else type(tags).__name__
            return f"has {len(example['tokens'])} tokens but {n} tags"
        known = set(tag_list(task))
        unknown = next((str(t) for t in tags if str(t) not in known), None)
        if unknown is not None and not task.options.get("labels_from_train"):
            return f"has tag {unknown!r}, not in the task's labels {sorted(known)}"
        return None

    def featurize(self, examples, tokenizer, task, max_length):
        tag_ids = {t: i for i, t in enumerate(tag_list(task))}
        how = task.options.get("label_position", "first")
        features = []
        for lo, chunk in in_chunks(examples):
            for ex in chunk:
                problem = self.check_example(ex, task)
                if problem:
                    raise example_error(task, ex, problem)
            enc = tokenizer([[str(w) for w in ex["tokens"]] for ex in chunk],
                            is_split_into_words=True, truncation=True, max_length=max_length)
            for j, ex in enumerate(chunk):
                ids = enc["input_ids"][j]
                positions = labelled_positions(enc.word_ids(j),
                                               tokenizer.convert_ids_to_tokens(ids), how)
                feat = {"input_ids": ids, "example_index": lo + j, "word_positions": positions}
                if ex.get("tags") is not None:
                    labels = [IGNORE] * len(ids)
                    for w, pos in positions.items():
                        tag = str(ex["tags"][w])
                        if tag not in tag_ids:  # left out of a data-derived set (checked above)
                            continue  # untrained, scored wrong
                        labels[pos] = tag_ids[tag]
                    feat["labels"] = labels
                features.append(feat)
        return features

    def collate(self, features, pad_id):
        batch = padded_inputs([f["input_ids"] for f in features], pad_id)
        if all("labels" in f for f in features):
            batch["labels"] = pad_token_labels([f["labels"] for f in features],
                                               batch["input_ids"].shape[1])
        return batch

    def build_head(self, hidden_size, task):
        return nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden_size, len(tag_list(task))))

    def loss(self, encoder, head, batch):
        return token_loss(token_logits(encoder, head, batch), batch["labels"])

    def predict_batch(self, encoder, head, batch, task):
        best = token_logits(encoder, head, batch).argmax(-1).cpu().numpy()
        return list(best)

    def decode(self, examples, features, outputs, task):
        tags = tag_list(task)
        fallback = default_tag(tags)
        predictions = {}
        for f, best in zip(features, outputs, strict=True):
            ex = examples[f["example_index"]]
            words = [fallback] * len(ex["tokens"])  # one tag per original word, always
            for w, pos in f["word_positions"].items():
                words[w] = tags[int(best[pos])]
            predictions[ex["id"]] = words
        return predictions

    def score(self, examples, predictions, task, lang):
        gold = [[str(t) for t in ex["tags"]] for ex in examples]
        pred = [predictions[ex["id"]] for ex in examples]
        prf = seqeval_prf(gold, pred)
        return {"f1": prf["f1"], "precision": prf["precision"], "recall": prf["recall"],
                "accuracy": token_accuracy(gold, pred)}

    def write_predictions(self, examples, predictions, task, path):
        write_sentences(path, [predictions[ex["id"]] for ex in examples])

    def write_labels(self, examples, task, path):
        write_sentences(path, [[str(t) for t in ex["tags"]] for ex in examples])

    def trivial_predictions(self, train, examples, task):
        by_word = defaultdict(Counter)
        for ex in train:
            for w, t in zip(ex["tokens"], ex["tags"], strict=True):
                by_word[w][t] += 1
        fallback = default_tag(tag_list(task))
        return {ex["id"]: [by_word[w].most_common(1)[0][0] if w in by_word else fallback
                           for w in ex["tokens"]] for ex in examples}


register_format(TaggingFormat())
