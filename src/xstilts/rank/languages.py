"""Language features of an intermediate set for a target: how many of the target's languages
the set trains on, and how far the set's languages are from them.

The distance is a simple documented rule over a small shipped table, not URIEL/lang2vec's
learned distances (not shipped: no download). Each language of XTREME's 40 (and the demo's)
has three attributes:

    family  its top-level family in Glottolog 5.0 (glottolog.org; Basque is an isolate)
    genus   its genus in WALS Online 2013 (wals.info/languoid, Dryer's genera)
    script  its usual script, ISO 15924 code, as in Unicode CLDR's likelySubtags

and the distance between two languages is

    d(a, b) = 0                                           if a == b
            = 1/4 + 1/4 [genus differs] + 1/4 [family differs] + 1/4 [script differs]

so 0.25 for two languages of one genus and script (de, nl), 0.5 across genera of one family
(en, fr), 0.75 with another script too (en, ru) or across families in one script (en, tr),
1 across families and scripts (en, zh). A code missing from the table is at distance 1 from
every other language (said in the ranking's notes).
"""

from __future__ import annotations

from collections.abc import Iterable

# code: (Glottolog family, WALS genus, ISO 15924 script)
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "af": ("Indo-European", "Germanic", "Latn"),
    "ar": ("Afro-Asiatic", "Semitic", "Arab"),
    "bg": ("Indo-European", "Slavic", "Cyrl"),
    "bn": ("Indo-European", "Indic", "Beng"),
    "de": ("Indo-European", "Germanic", "Latn"),
    "el": ("Indo-European", "Greek", "Grek"),
    "en": ("Indo-European", "Germanic", "Latn"),
    "es": ("Indo-European", "Romance", "Latn"),
    "et": ("Uralic", "Finnic", "Latn"),
    "eu": ("Basque", "Basque", "Latn"),
    "fa": ("Indo-European", "Iranian", "Arab"),
    "fi": ("Uralic", "Finnic", "Latn"),
    "fr": ("Indo-European", "Romance", "Latn"),
    "he": ("Afro-Asiatic", "Semitic", "Hebr"),
    "hi": ("Indo-European", "Indic", "Deva"),
    "hu": ("Uralic", "Ugric", "Latn"),
    "id": ("Austronesian", "Malayo-Sumbawan", "Latn"),
    "it": ("Indo-European", "Romance", "Latn"),
    "ja": ("Japonic", "Japanese", "Jpan"),
    "jv": ("Austronesian", "Javanese", "Latn"),
    "ka": ("Kartvelian", "Kartvelian", "Geor"),
    "kk": ("Turkic", "Turkic", "Cyrl"),
    "ko": ("Koreanic", "Korean", "Kore"),
    "ml": ("Dravidian", "Southern Dravidian", "Mlym"),
    "mr": ("Indo-European", "Indic", "Deva"),
    "ms": ("Austronesian", "Malayo-Sumbawan", "Latn"),
    "my": ("Sino-Tibetan", "Burmese-Lolo", "Mymr"),
    "nl": ("Indo-European", "Germanic", "Latn"),
    "pt": ("Indo-European", "Romance", "Latn"),
    "ru": ("Indo-European", "Slavic", "Cyrl"),
    "sw": ("Atlantic-Congo", "Bantoid", "Latn"),
    "ta": ("Dravidian", "Southern Dravidian", "Taml"),
    "te": ("Dravidian", "South-Central Dravidian", "Telu"),
    "th": ("Tai-Kadai", "Kam-Tai", "Thai"),
    "tl": ("Austronesian", "Greater Central Philippine", "Latn"),
    "tr": ("Turkic", "Turkic", "Latn"),
    "ur": ("Indo-European", "Indic", "Arab"),
    "vi": ("Austroasiatic", "Viet-Muong", "Latn"),
    "yo": ("Atlantic-Congo", "Defoid", "Latn"),
    "zh": ("Sino-Tibetan", "Chinese", "Hans"),
}


def distance(a: str, b: str) -> float:
    """The table's distance between two language codes (see the module docstring)."""
    if a == b:
        return 0.0
    if a not in LANGUAGES or b not in LANGUAGES:
        return 1.0
    (fam_a, genus_a, script_a), (fam_b, genus_b, script_b) = LANGUAGES[a], LANGUAGES[b]
    return 0.25 * (1 + (genus_a != genus_b) + (fam_a != fam_b) + (script_a != script_b))


def overlap(trained: Iterable[str], target: Iterable[str]) -> float:
    """The share of the target's languages the set trains on."""
    target = set(target)
    return len(set(trained) & target) / len(target) if target else 0.0


def set_distance(trained: Iterable[str], target: Iterable[str]) -> float:
    """Mean over the target's languages of the distance to the set's nearest language."""
    trained, target = sorted(set(trained)), sorted(set(target))
    if not trained or not target:
        return 1.0
    return sum(min(distance(s, t) for s in trained) for t in target) / len(target)


def unknown(codes: Iterable[str]) -> list[str]:
    """Codes the table does not know (they are at distance 1 from every other)."""
    return sorted({c for c in codes if c not in LANGUAGES})
