"""Generators over single sentences: entity tags, POS tags, translation retrieval, topics.

Same contract as gen_pairs: (split, lang, size, seed) -> examples; facts depend on
(task, seed, split, index) only.
"""

from __future__ import annotations

import functools
import random

from xstilts.tasks.demo import world as w
from xstilts.tasks.demo.render import entity_tags, pos_tags, render, text_of

NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
POS_LABELS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "NOUN", "NUM", "PART", "PRON",
              "PROPN", "PUNCT", "SCONJ", "VERB")
TOPIC_LABELS = w.TOPICS


def _sentence(rng: random.Random, split: str) -> w.Clause:
    """One sentence: a fact about a person or company, a news event, or a (negated) claim."""
    pick = rng.random()
    if pick < 0.35:
        return w.event_clause(rng, split, rng.choice(w.TOPICS), rng.randrange(5))
    scene = w.sample_scene(rng, split, 2, rng.choice((1, 2)))
    pf = rng.choice(scene.people)
    if pick < 0.8:
        frames = w.person_frames(pf) + ["orgsize"]
        frame = rng.choice(frames)
        subject = rng.choice(scene.companies).org if frame == "orgsize" else pf.person
        return w.frame_clause(frame, scene, subject)
    rel = rng.choice(w.PERSON_RELS + w.ORG_RELS)
    subject = scene.org_facts(pf.org).org if rel in w.ORG_RELS else pf.person
    value = w.true_value(scene, rel, subject)
    if rng.random() < 0.5:
        value = w.other_value(rng, split, value)
    return w.hyp_clause(scene, rel, subject, value, rng.random() < 0.4)


@functools.lru_cache(maxsize=1 << 16)
def sentences(kind: str, seed: int, split: str, i: int, most: int = 2) -> tuple[w.Clause, ...]:
    """One or (a quarter of the time, when most > 1) two sentences for example i."""
    rng = w.rng_for(kind, seed, split, i)
    while True:
        n = 2 if most > 1 and rng.random() < 0.25 else 1
        clauses = tuple(_sentence(rng, split) for _ in range(n))
        if w.in_split(clauses, split):
            return clauses


def generate_ner(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """Named entities (PER, LOC, ORG) in IOB2 over words (Chinese: segmented words)."""
    out = []
    for i in range(size):
        rng = w.rng_for("ner", seed, split, i, "tpl", lang)
        pieces = [render(c, lang, rng) for c in sentences("ner", seed, split, i)]
        tokens, tags = entity_tags(pieces, lang)
        out.append({"id": f"demo-ner-{split}-{i}", "tokens": tokens, "tags": tags})
    return out


def generate_pos(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """English part-of-speech tags (UD's coarse tags), read off the templates."""
    if lang != "en":
        raise ValueError(f"demo-pos-en is English only, not {lang!r}")
    out = []
    for i in range(size):
        rng = w.rng_for("pos", seed, split, i, "tpl", lang)
        pieces = [render(c, lang, rng) for c in sentences("pos", seed, split, i)]
        tokens, tags = pos_tags(pieces)
        out.append({"id": f"demo-pos-{split}-{i}", "tokens": tokens, "tags": tags})
    return out


def generate_retrieval(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """A sentence in `lang` and its English translation (English: a paraphrase if any)."""
    out = []
    for i in range(size):
        (clause,) = sentences("retrieval", seed, split, i, most=1)
        target = text_of([render(clause, "en", w.rng_for("retrieval", seed, split, i, "en"))],
                         "en")
        rng = w.rng_for("retrieval", seed, split, i, "tpl", lang)
        source = text_of([render(clause, lang, rng)], lang)
        for _ in range(8):  # English: prefer another wording of the same sentence
            if lang != "en" or source != target:
                break
            source = text_of([render(clause, lang, rng)], lang)
        out.append({"id": f"demo-retrieval-{split}-{i}", "source": source, "target": target})
    return out


@functools.lru_cache(maxsize=1 << 16)
def topic_structure(seed: int, split: str, i: int) -> w.Clause:
    topic = w.balanced(TOPIC_LABELS, i, "topic", seed, split)
    rng = w.rng_for("topic", seed, split, i)
    while True:
        clause = w.event_clause(rng, split, topic, rng.randrange(5))
        if w.in_split(clause, split):
            return clause


def generate_topic(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """News sentences labelled business, sports, science or politics."""
    out = []
    for i in range(size):
        clause = topic_structure(seed, split, i)
        rng = w.rng_for("topic", seed, split, i, "tpl", lang)
        out.append({"id": f"demo-topic-{split}-{i}", "text_a": text_of([render(clause, lang, rng)],
                                                                        lang),
                    "label": clause.group.split(":")[1]})
    return out
