"""Per-language templates, looked up by group ("frame:found", "hyp:home", "neg:home",
"q:home", "event:sports"); the strings themselves live in templates_<lang>.py.
"""

from __future__ import annotations

import re

from xstilts.tasks.demo import (
    templates_ar,
    templates_de,
    templates_en,
    templates_es,
    templates_ru,
    templates_zh,
)

TEMPLATES = {"en": templates_en, "de": templates_de, "es": templates_es, "ru": templates_ru,
             "zh": templates_zh, "ar": templates_ar}
SLOT = re.compile(r"\{(\w+)(?::\w+)?\}")


def group_templates(lang: str, group: str) -> list[str]:
    """The templates of one group in one language."""
    kind, name = group.split(":", 1)
    module = TEMPLATES[lang]
    if kind == "frame":
        return module.FRAMES[name]
    if kind in ("hyp", "neg"):
        return module.HYPS[name][kind == "neg"]
    if kind == "q":
        return module.QUESTIONS[name]
    if kind == "event":
        return module.EVENTS[name]
    raise KeyError(group)


def all_groups(lang: str = "en") -> list[str]:
    """Every template group (the same in every language)."""
    module = TEMPLATES[lang]
    return ([f"frame:{k}" for k in module.FRAMES] + [f"hyp:{k}" for k in module.HYPS]
            + [f"neg:{k}" for k in module.HYPS] + [f"q:{k}" for k in module.QUESTIONS]
            + [f"event:{k}" for k in module.EVENTS])


def slots(template: str) -> frozenset[str]:
    return frozenset(SLOT.findall(template))
