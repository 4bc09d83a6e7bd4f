"""The demo world, free of language: entities, facts about them, and clauses that state facts.

A `Scene` is a few people and companies with consistent facts (hometown, home, profession,
employer, year of joining or founding; headquarters, staff). A `Clause` names a template
group (a sentence frame, a hypothesis, a question or an event) and binds its slots to
values; `render.py` turns a clause into text in any language.
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import dataclass

from xstilts.tasks.demo import lexicon as lx

# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Person:
    given: int
    family: int
    female: bool


@dataclass(frozen=True)
class City:
    idx: int


@dataclass(frozen=True)
class Country:
    idx: int


@dataclass(frozen=True)
class Org:
    idx: int


@dataclass(frozen=True)
class Club:
    idx: int


@dataclass(frozen=True)
class Role:
    idx: int
    female: bool


@dataclass(frozen=True)
class Year:
    value: int


@dataclass(frozen=True)
class Number:
    value: int


@dataclass(frozen=True)
class Term:
    table: str  # "field", "product", "policy"
    idx: int


ENTITY_TAGS = {Person: "PER", City: "LOC", Country: "LOC", Org: "ORG", Club: "ORG"}


@dataclass(frozen=True)
class Clause:
    """One sentence to render: a template group and its slot values.

    group is "frame:<name>", "hyp:<rel>" / "neg:<rel>" (a hypothesis, negated or not),
    "q:<kind>" (a question) or "event:<topic>" with `variant` (events are aligned by index).
    """

    group: str
    bindings: tuple[tuple[str, object], ...]
    variant: int = -1

    @staticmethod
    def make(group: str, variant: int = -1, **slots) -> Clause:
        return Clause(group, tuple(sorted(slots.items())), variant)

    def get(self, slot: str):
        return dict(self.bindings)[slot]


# ---------------------------------------------------------------- pools and splits


@functools.cache
def pool(n: int, split: str) -> tuple[int, ...]:
    """Indices of a list usable in a split: a third train-only, a third test-only, a third both."""
    banned = 2 if split in ("train", "dev") else 0
    return tuple(i for i in range(n) if i % 3 != banned)


_BUCKETS = {"test": range(0, 2), "dev": range(2, 3), "train": range(3, 10)}


def in_split(key, split: str) -> bool:
    """Whether a structure (by its repr) belongs to a split: train/dev/test never share one."""
    digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 10 in _BUCKETS[split]


def people_in_split(kind: str, people, split: str) -> bool:
    """in_split for a set of people: texts naming all of them stay within one split."""
    return in_split((kind, sorted((p.given, p.family, p.female) for p in people)), split)


def rng_for(*parts) -> random.Random:
    """A Random seeded from a string (str seeds hash the same way on every run)."""
    return random.Random("xstilts-demo/" + "/".join(str(p) for p in parts))


def balanced(labels, i: int, *parts):
    """The label of example i: each block of len(labels) examples holds every label once."""
    block = rng_for(*parts, "labels", i // len(labels)).sample(list(labels), len(labels))
    return block[i % len(labels)]


def person(rng: random.Random, split: str, female: bool | None = None) -> Person:
    female = rng.random() < 0.5 if female is None else female
    given = rng.choice(pool(len(lx.GIVEN_F if female else lx.GIVEN_M), split))
    return Person(given, rng.choice(pool(len(lx.SURNAMES), split)), female)


def distinct_people(rng: random.Random, split: str, n: int) -> list[Person]:
    out: list[Person] = []
    while len(out) < n:
        p = person(rng, split)
        if all(p.given != q.given and p.family != q.family for q in out):
            out.append(p)
    return out


def cities(rng, split, n):
    return [City(i) for i in rng.sample(pool(len(lx.CITIES), split), n)]


def orgs(rng, split, n):
    return [Org(i) for i in rng.sample(pool(len(lx.ORGS), split), n)]


def clubs(rng, split, n):
    return [Club(i) for i in rng.sample(pool(len(lx.CLUBS), split), n)]


def role(rng, female: bool, exclude=()) -> Role:
    return Role(rng.choice([i for i in range(len(lx.ROLES)) if i not in exclude]), female)


def employees(rng) -> Number:
    return Number(rng.randrange(20, 1000, 10))  # multiples of ten: one plural form in ru


# ---------------------------------------------------------------- scenes


@dataclass(frozen=True)
class PersonFacts:
    person: Person
    role: Role
    home: City  # hometown
    lives: City
    org: Org
    rel: str  # "founded" or "joined"
    year: int  # of founding or joining


@dataclass(frozen=True)
class OrgFacts:
    org: Org
    hq: City
    staff: int
    year: int  # founded
    founder: Person | None


@dataclass(frozen=True)
class Scene:
    people: tuple[PersonFacts, ...]
    companies: tuple[OrgFacts, ...]

    def person_facts(self, p: Person) -> PersonFacts:
        return next(f for f in self.people if f.person == p)

    def org_facts(self, o: Org) -> OrgFacts:
        return next(f for f in self.companies if f.org == o)


def sample_scene(rng: random.Random, split: str, n_people: int, n_orgs: int, people=None,
                 rels=None) -> Scene:
    """A few people and companies with consistent facts (optionally: these people, and
    whether each "founded" or "joined" their company)."""
    ppl = list(people) if people else distinct_people(rng, split, n_people)
    places = cities(rng, split, 2 * n_people + n_orgs)
    cos = orgs(rng, split, n_orgs)
    founded = [rng.randint(1978, 2012) for _ in cos]
    founders: dict[int, Person] = {}
    facts = []
    used_roles: list[int] = []
    for i, p in enumerate(ppl):
        k = i % n_orgs if i < n_orgs else rng.randrange(n_orgs)
        founds = rng.random() < 0.5 if rels is None else rels[i] == "founded"
        if k not in founders and founds:
            founders[k] = p
            rel, year = "founded", founded[k]
        else:
            rel, year = "joined", rng.randint(founded[k] + 1, 2023)
        r = role(rng, p.female, exclude=used_roles)
        used_roles.append(r.idx)
        facts.append(PersonFacts(p, r, places[2 * i], places[2 * i + 1], cos[k], rel, year))
    companies = tuple(
        OrgFacts(o, rng.choice(places), employees(rng).value, founded[k], founders.get(k))
        for k, o in enumerate(cos))
    return Scene(tuple(facts), companies)


# ---------------------------------------------------------------- frames and facts

# frame -> facts it states: (relation, subject slot, value slot)
FRAME_FACTS = {
    "found": (("home", "per", "city"), ("role", "per", "role"), ("org", "per", "org"),
              ("year", "per", "year")),
    "join": (("home", "per", "city"), ("role", "per", "role"), ("org", "per", "org"),
             ("year", "per", "year")),
    "work": (("role", "per", "role"), ("org", "per", "org"), ("lives", "per", "city")),
    "move": (("home", "per", "city"), ("lives", "per", "city2")),
    "since": (("org", "per", "org"), ("year", "per", "year"), ("role", "per", "role")),
    "rolelive": (("role", "per", "role"), ("lives", "per", "city")),
    "orgfound": (("org", "per", "org"), ("year", "per", "year"), ("hq", "org", "city")),
    "orgsize": (("staff", "org", "num"), ("hq", "org", "city")),
}
FRAME_SLOTS = {f: frozenset(s for fact in facts for s in fact[1:])
               for f, facts in FRAME_FACTS.items()}

PERSON_RELS = ("home", "lives", "role", "org", "year")
ORG_RELS = ("hq", "staff")


def person_frames(pf: PersonFacts) -> list[str]:
    if pf.rel == "founded":
        return ["found", "move", "rolelive", "orgfound"]
    return ["join", "work", "since", "move", "rolelive"]


def frame_clause(frame: str, scene: Scene, subject) -> Clause:
    """The clause of a frame about a person (or, for "orgsize", a company)."""
    if frame == "orgsize":
        of = scene.org_facts(subject)
        return Clause.make("frame:orgsize", org=of.org, num=Number(of.staff), city=of.hq)
    pf = scene.person_facts(subject)
    if frame == "orgfound":
        of = scene.org_facts(pf.org)
        return Clause.make("frame:orgfound", org=pf.org, per=pf.person, year=Year(pf.year),
                           city=of.hq)
    values = {"per": pf.person, "role": pf.role, "org": pf.org, "year": Year(pf.year)}
    if frame in ("found", "join"):
        values["city"] = pf.home
    elif frame in ("work", "rolelive"):
        values["city"] = pf.lives
    elif frame == "move":
        values.update(city=pf.home, city2=pf.lives)
    slots = FRAME_SLOTS[frame]
    return Clause.make(f"frame:{frame}", **{k: v for k, v in values.items() if k in slots})


def stated_facts(clauses) -> dict[tuple, tuple[int, str, str]]:
    """(relation, subject) -> (clause index, subject slot, value slot), first statement wins."""
    out: dict[tuple, tuple[int, str, str]] = {}
    for i, c in enumerate(clauses):
        frame = c.group.split(":", 1)[1]
        for rel, subj, val in FRAME_FACTS[frame]:
            out.setdefault((rel, c.get(subj)), (i, subj, val))
    return out


def true_value(scene: Scene, rel: str, subject):
    if rel in ORG_RELS:
        of = scene.org_facts(subject)
        return of.hq if rel == "hq" else Number(of.staff)
    pf = scene.person_facts(subject)
    return {"home": pf.home, "lives": pf.lives, "role": pf.role, "org": pf.org,
            "year": Year(pf.year)}[rel]


def other_value(rng: random.Random, split: str, value, near=(), p_near: float = 0.5):
    """A value of the same kind that differs from `value`; with p_near one of `near` if any."""
    near = [v for v in dict.fromkeys(near) if type(v) is type(value) and v != value]
    if isinstance(value, Role):
        near = [Role(v.idx, value.female) for v in near if v.idx != value.idx]
    if near and rng.random() < p_near:
        return rng.choice(near)
    if isinstance(value, City):
        return City(rng.choice([i for i in pool(len(lx.CITIES), split) if i != value.idx]))
    if isinstance(value, Org):
        return Org(rng.choice([i for i in pool(len(lx.ORGS), split) if i != value.idx]))
    if isinstance(value, Role):
        return role(rng, value.female, exclude=[value.idx])
    if isinstance(value, Year):
        return Year(value.value + rng.choice([-1, 1]) * rng.randint(1, 7))
    if isinstance(value, Number):
        return Number(rng.choice([n for n in range(20, 1000, 10) if n != value.value]))
    raise TypeError(value)


def hyp_group(scene: Scene, rel: str, subject) -> str:
    """The hypothesis template group of a relation ("org" and "year" depend on joined/founded)."""
    if rel in ("org", "year"):
        suffix = "found" if scene.person_facts(subject).rel == "founded" else "join"
        return f"{rel}_{suffix}"
    return rel


def hyp_clause(scene: Scene, rel: str, subject, value, negated: bool) -> Clause:
    group = ("neg:" if negated else "hyp:") + hyp_group(scene, rel, subject)
    if rel in ORG_RELS:
        slot = "city" if rel == "hq" else "num"
        return Clause.make(group, org=subject, **{slot: value})
    if rel == "year":
        return Clause.make(group, per=subject, org=scene.person_facts(subject).org, year=value)
    slot = {"home": "city", "lives": "city", "role": "role", "org": "org"}[rel]
    return Clause.make(group, per=subject, **{slot: value})


# ---------------------------------------------------------------- events (topic sentences)

TOPICS = ("business", "sports", "science", "politics")

# The slots of each event variant; every language renders variant i with the same slots.
EVENT_SLOTS = {
    "business": (("org", "num", "year"), ("org", "product", "city"), ("org", "org2", "pct"),
                 ("per", "org", "product", "country"), ("org", "org2", "num")),
    "sports": (("club", "club2", "city"), ("per", "city", "small"), ("per", "club", "small"),
               ("per", "club", "club2"), ("country", "year")),
    "science": (("org", "field"), ("per", "city", "country"), ("per", "field"),
                ("city", "small"), ("per", "field", "year")),
    "politics": (("country", "policy"), ("per", "city", "pct"),
                 ("per", "per2", "city", "policy"), ("city", "policy"),
                 ("per", "year", "policy")),
}
_EVENT_YEARS = {("sports", 4): (2026, 2038), ("politics", 4): (2025, 2032)}


def event_clause(rng: random.Random, split: str, topic: str, variant: int) -> Clause:
    slots = EVENT_SLOTS[topic][variant]
    ppl = distinct_people(rng, split, 2)
    cos, cls = orgs(rng, split, 2), clubs(rng, split, 2)
    lo, hi = _EVENT_YEARS.get((topic, variant), (2005, 2023))
    make = {
        "per": lambda: ppl[0], "per2": lambda: ppl[1], "org": lambda: cos[0],
        "org2": lambda: cos[1], "club": lambda: cls[0], "club2": lambda: cls[1],
        "city": lambda: cities(rng, split, 1)[0],
        "country": lambda: Country(rng.randrange(len(lx.COUNTRIES))),
        "num": lambda: Number(rng.randint(2, 950)), "pct": lambda: Number(rng.randint(2, 70)),
        "small": lambda: Number(rng.randint(5, 9)), "year": lambda: Year(rng.randint(lo, hi)),
        "field": lambda: Term("field", rng.randrange(len(lx.FIELDS))),
        "product": lambda: Term("product", rng.randrange(len(lx.PRODUCTS))),
        "policy": lambda: Term("policy", rng.randrange(len(lx.POLICIES))),
    }
    return Clause.make(f"event:{topic}", variant, **{s: make[s]() for s in slots})
