"""Which language a customer wrote in, French or English, from the text alone.

Stopwords and letters only (no network, no model): French and English share an alphabet but
differ in their most frequent words ("le", "de", "pas" against "the", "of", "not") and in their
accented letters and elisions ("j'ai", "n'est"). Enough for routing sentiment to the right
lexicon; a text with neither kind of evidence is "" (unknown).
"""

from __future__ import annotations

import re

FRENCH = "fr"
ENGLISH = "en"

_FR_WORDS = frozenset(
    """
    le la les un une des du de au aux et ou mais donc ni que qui quoi dont où est sont suis
    es êtes sommes était étais avait avais ai as avons avez ont été être avoir ce cet cette ces
    mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs je tu il elle nous vous ils
    elles on me te se lui y en ne pas rien jamais toujours très trop bien aussi avec sans
    pour par sur sous dans chez vers depuis pendant comme quand si alors encore déjà merci
    bonjour bonsoir svp stp rien personne commande livraison reçu reçue colis toujours vraiment
    c'est n'est j'ai qu'il d'un d'une l'on aujourd'hui hier demain semaine jours heures
    """.split()
)
_EN_WORDS = frozenset(
    """
    the an and or but so of to in on at for with without from by about into over after
    before is are was were be been being am have has had do does did will would can could
    should shall may might must not no yes this that these those it its i you he she we they
    me him her us them my your his our their what which who whom when where why how all any
    some more most very too just still again already thanks thank please hi hello dear order
    delivery received parcel really today yesterday tomorrow week days hours don't doesn't
    didn't isn't wasn't can't won't i'm it's i've you're there here than then
    """.split()
)
_FR_LETTERS = frozenset("àâæçéèêëîïôœùûüÿ")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_NOT_WORDS = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+|@\w+|#\w+", re.IGNORECASE
)  # links, addresses, handles
_FR_ELISION = re.compile(r"^(?:c|d|j|l|m|n|qu|s|t)['’]", re.IGNORECASE)


def language_scores(text: str) -> tuple[float, float]:
    """(French evidence, English evidence): stopword hits, elisions and accented letters."""
    fr = en = 0.0
    for match in _WORD.finditer(_NOT_WORDS.sub(" ", text.lower())):
        word = match.group().replace("’", "'")
        if word in _FR_WORDS:
            fr += 1.0
        if word in _EN_WORDS:
            en += 1.0
        if "'" in word:
            if _FR_ELISION.match(word):
                fr += 1.0
                head = word.split("'", 1)[1]
                fr += 0.5 if head in _FR_WORDS else 0.0
            elif word.endswith(("n't", "'s", "'m", "'re", "'ve", "'ll", "'d")):
                en += 1.0
        accents = sum(1 for ch in word if ch in _FR_LETTERS)
        fr += min(accents, 2) * 0.5
    return fr, en


def detect_language(text: str) -> str:
    """``"fr"``, ``"en"`` or ``""`` when the text gives no evidence (an emoji, a number)."""
    fr, en = language_scores(text)
    if fr == en:
        return ""
    return FRENCH if fr > en else ENGLISH
