"""Sentiment of a customer message with TextBlob (English) and textblob-fr (French).

Composition-level like ``sla_holidays``: the one module that imports ``textblob``. It never calls
TextBlob's ``detect_language``/``translate`` (they use the network): the language comes from
:func:`inbox.triage.language.detect_language`.

General-purpose lexicons miss how customers complain: "still waiting for my refund" or "toujours
pas reçu" carry no sentiment word, and "Great, another week without my parcel" scores as praise.
:func:`score` therefore adds a short list of support-desk complaint cues: a message with one is
never positive (praise beside a failure is nearly always sarcasm) and goes down with each cue.
:func:`lexicon_score` is TextBlob alone, kept so the gain can be measured.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from inbox.triage.language import FRENCH, detect_language

_CUES_EN = (
    r"\bnobody\b", r"\bno one\b", r"\bno (?:answer|reply|response)\b", r"\bstill (?:waiting|not|no)\b",
    r"\bnever (?:arrived|came|received|again)\b", r"\bnot (?:received|arrived)\b", r"\b(?:late|delayed?)\b",
    r"\bcharged twice\b", r"\bdouble charged\b", r"\bfail(?:s|ed|ing)?\b", r"\bcrash(?:es|ed)?\b",
    r"\bbroken\b", r"\b(?:crushed|damaged|stale)\b", r"\blost\b", r"\bmissing\b", r"\bwrong\b", r"\bunacceptable\b", r"\bridiculous\b",
    r"\bdisappoint(?:ed|ing)\b", r"\bmoney back\b", r"\bwithout my\b", r"\bscam\b", r"\bjoke\b",
)  # fmt: skip
_CUES_FR = (
    r"\bpersonne ne\b", r"\baucune (?:réponse|nouvelle)\b", r"\bpas de (?:réponse|nouvelles)\b",
    r"\btoujours (?:pas|rien)\b", r"\bj'attends toujours\b", r"\bd'attente\b", r"\bretard\b",
    r"\bdébité deux fois\b", r"\bplante\b", r"\bbug(?:ue)?\b", r"\bperdu(?:e|s|es)?\b",
    r"\bmanquant(?:e|s|es)?\b", r"\berreur\b", r"\binadmissible\b", r"\binacceptable\b", r"\bhonte\b",
    r"\blamentable\b", r"\bplus jamais\b", r"\bdéçu(?:e|s|es)?\b", r"\bdéception\b", r"\bagaçant\b",
    r"\bpénible\b", r"\bremboursée?s?\b", r"\barnaque\b", r"\babîmée?s?\b", r"\bécrasée?s?\b",
)  # fmt: skip
_CUE_PATTERNS = {
    "en": re.compile("|".join(_CUES_EN), re.IGNORECASE),
    "fr": re.compile("|".join(_CUES_FR), re.IGNORECASE),
}
CUE_WEIGHT = 0.3


@lru_cache(maxsize=1)
def _analysers() -> tuple[Any, Any, Any]:
    from textblob.en.sentiments import PatternAnalyzer as EnglishAnalyzer
    from textblob_fr import PatternAnalyzer, PatternTagger

    return EnglishAnalyzer(), PatternAnalyzer(), PatternTagger()


def lexicon_score(text: str, lang: str) -> float:
    """TextBlob's polarity (-1..1) with the lexicon of ``lang`` (French, else English)."""
    english, french, _tagger = _analysers()
    try:
        if lang == FRENCH:
            value = float(french.analyze(text)[0])
        else:
            value = float(english.analyze(text).polarity)
    except Exception:  # a lexicon failure on odd text must not stop the batch
        return 0.0
    return max(-1.0, min(1.0, value))


def complaint_cues(text: str, lang: str) -> int:
    """How many support-desk complaint cues of ``lang`` the text holds."""
    pattern = _CUE_PATTERNS.get(lang or "en", _CUE_PATTERNS["en"])
    return len(pattern.findall(text.replace("’", "'")))


def score(text: str, lang: str) -> float:
    """The sentiment of one message, -1 (negative) .. 1 (positive)."""
    value = lexicon_score(text, lang)
    cues = complaint_cues(text, lang)
    if cues:
        value = min(value, 0.0) - CUE_WEIGHT * min(cues, 3)
    return round(max(-1.0, min(1.0, value)), 3)


def analyse(text: str) -> tuple[str, float]:
    """(language, sentiment) of one message: what the background scorer stores."""
    lang = detect_language(text)
    return lang, score(text, lang)
