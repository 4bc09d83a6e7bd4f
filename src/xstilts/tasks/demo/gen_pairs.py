"""Generators over scenes: NLI pairs, span QA and multiple choice.

Each generator has the GeneratedSource signature (split, lang, size, seed). The facts of
example i depend only on (task, seed, split, i), never on the language, so every language
of a split says the same things in the same order; only the choice of templates differs.
"""

from __future__ import annotations

import functools

from xstilts.tasks.demo import world as w
from xstilts.tasks.demo.render import layout, render, surface, text_of

NLI_LABELS = ("entailment", "neutral", "contradiction")
P_NEGATED = 0.2  # the same in every class, so "not" says nothing about the label
# False values are often taken from the premise (the person's other city, ...), so that word
# overlap does not tell entailment from contradiction or neutral.
P_NEAR = 0.5


# ---------------------------------------------------------------- NLI


def _values(clauses) -> list:
    return [v for c in clauses for _, v in c.bindings]


def _states(frame: str, rel: str) -> bool:
    return any(r == rel for r, _, _ in w.FRAME_FACTS[frame])


# Structures are immutable and the same in every language: compute each once.
_cached = functools.lru_cache(maxsize=1 << 16)


@_cached
def nli_structure(seed: int, split: str, i: int):
    """(premise clauses, hypothesis clause, label) of NLI example i.

    The premise is one sentence about a person, the hypothesis one fact about that person.
    The hypothesis's relation is drawn before and independently of the label, so the
    hypothesis alone says nothing; the label decides whether the premise's sentence states
    that relation (entailment, contradiction) or not (neutral). A one-sentence premise keeps
    the task learnable within a CPU budget (with a second person's sentence as distractor,
    e5-small stayed at chance for 120 steps).
    """
    label = w.balanced(NLI_LABELS, i, "nli", seed, split)
    rng = w.rng_for("nli", seed, split, i)
    rel = rng.choice(w.PERSON_RELS)
    while True:
        # Every text names its person: splits never share one, so never a text.
        people = w.distinct_people(rng, split, 1)
        if w.people_in_split("nli", people, split):
            break
    scene = w.sample_scene(rng, split, 1, 1, people)
    (main,) = scene.people
    if rel == "org" and main.rel == "founded":
        # "X founded <another company>" would not be false (people may found two): ask when
        # X founded the company instead. Decided before the label, so it says nothing of it.
        rel = "year"
    frames = w.person_frames(main)
    stating = [f for f in frames if _states(f, rel)]
    frame = rng.choice([f for f in frames if (f in stating) == (label != "neutral")])
    clauses = [w.frame_clause(frame, scene, main.person)]
    negated = rng.random() < P_NEGATED
    true = w.true_value(scene, rel, main.person)
    if label == "neutral":
        value = true if rng.random() < 0.25 else w.other_value(rng, split, true,
                                                                _values(clauses), P_NEAR)
    elif (label == "entailment") == negated:  # "not <false>" or "<false>"
        value = w.other_value(rng, split, true, _values(clauses), P_NEAR)
    else:
        value = true
    return tuple(clauses), w.hyp_clause(scene, rel, main.person, value, negated), label


def generate_nli(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """NLI pairs: a one-sentence premise and a one-fact hypothesis about its person."""
    out = []
    for i in range(size):
        clauses, hyp, label = nli_structure(seed, split, i)
        rng = w.rng_for("nli", seed, split, i, "tpl", lang)
        premise = text_of([render(c, lang, rng) for c in clauses], lang)
        out.append({"id": f"demo-nli-{split}-{i}", "text_a": premise,
                     "text_b": text_of([render(hyp, lang, rng)], lang), "label": label})
    return out


# ---------------------------------------------------------------- span QA


def _question(rng, scene, rel, subject, slots):
    """(question clause, slot of the answer in the stating clause)."""
    _, subj_slot, val_slot = slots
    if rel in ("home", "lives", "role"):
        return w.Clause.make(f"q:{rel}", per=subject), val_slot
    if rel in ("hq", "staff"):
        return w.Clause.make(f"q:{rel}", org=subject), val_slot
    pf = scene.person_facts(subject)
    if rel == "org" and pf.rel == "joined":
        return w.Clause.make("q:employer", per=subject), val_slot
    if rel == "org":
        if rng.random() < 0.5:
            return w.Clause.make("q:founded_org", per=subject), val_slot
        return w.Clause.make("q:founder", org=pf.org), subj_slot
    if pf.rel == "joined":
        return w.Clause.make("q:join_year", per=subject, org=pf.org), val_slot
    return w.Clause.make("q:found_year", org=pf.org), val_slot


@_cached
def qa_structure(kind: str, seed: int, split: str, i: int):
    """A 2-4 sentence story about a few people and companies, and one question on it."""
    rng = w.rng_for(kind, seed, split, i)
    while True:
        # Every story names all its people: splits never share a set, so never a text.
        people = w.distinct_people(rng, split, rng.choice((2, 2, 3)))
        if not w.people_in_split(kind, people, split):
            continue
        scene = w.sample_scene(rng, split, len(people), rng.choice((1, 2)), people)
        clauses = [w.frame_clause(rng.choice(w.person_frames(pf)), scene, pf.person)
                   for pf in scene.people]
        if rng.random() < 0.5:
            clauses.append(w.frame_clause("orgsize", scene, rng.choice(scene.companies).org))
        if len(clauses) < 4 and rng.random() < 0.3:
            pf = rng.choice(scene.people)
            used = {c.group for c in clauses if ("per", pf.person) in c.bindings}
            frames = [f for f in w.person_frames(pf) if f"frame:{f}" not in used]
            clauses.append(w.frame_clause(rng.choice(frames), scene, pf.person))
        rng.shuffle(clauses)
        facts = w.stated_facts(clauses)
        rel, subject = rng.choice(list(facts))
        where = facts[(rel, subject)]
        question, slot = _question(rng, scene, rel, subject, where)
        return scene, tuple(clauses), question, where[0], slot


def _story(kind, seed, split, i, lang):
    scene, clauses, question, at, slot = qa_structure(kind, seed, split, i)
    rng = w.rng_for(kind, seed, split, i, "tpl", lang)
    context, spans = layout([render(c, lang, rng) for c in clauses], lang)
    start, end, seg = next(s for s in spans[at] if s[2].slot == slot)
    return clauses, context, text_of([render(question, lang, rng)], lang), (start, end), seg


def generate_qa(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """Extractive QA: the answer is a name, a year, a number or a profession in the story."""
    out = []
    for i in range(size):
        _, context, question, (start, end), _ = _story("qa", seed, split, i, lang)
        answer = context[start:end]
        out.append({"id": f"demo-qa-{split}-{i}", "context": context, "question": question,
                    "answers": {"text": [answer], "answer_start": [start]}})
    return out


# ---------------------------------------------------------------- multiple choice


def _distractors(rng, split, answer, clauses, n=3) -> list:
    """Values of the answer's kind: first those in the story, then others."""
    near = [v for v in dict.fromkeys(_values(clauses)) if type(v) is type(answer)]
    if isinstance(answer, w.Role):
        near = [w.Role(v.idx, answer.female) for v in near]
    out = [v for v in dict.fromkeys(near) if v != answer]
    rng.shuffle(out)
    out = out[:n]
    while len(out) < n:
        if isinstance(answer, w.Person):
            v = w.person(rng, split, answer.female)
            if any(v.given == o.given or v.family == o.family for o in out + [answer]):
                continue
        else:
            v = w.other_value(rng, split, answer)
        if v != answer and v not in out:
            out.append(v)
    return out


def generate_mc(split: str, lang: str, size: int, seed: int) -> list[dict]:
    """Reading comprehension with four candidate answers of the same kind."""
    out = []
    for i in range(size):
        clauses, context, question, _, seg = _story("mc", seed, split, i, lang)
        label = w.balanced(range(4), i, "mc", seed, split)
        rng = w.rng_for("mc", seed, split, i, "choices")
        wrong = _distractors(rng, split, seg.value, clauses)
        values = wrong[:label] + [seg.value] + wrong[label:]
        out.append({"id": f"demo-mc-{split}-{i}", "prompt": f"{context}\n{question}",
                    "choices": [surface(v, lang) for v in values], "label": label})
    return out
