"""Text normalisation: what a voice should *say* for each word the script *shows*.

TTS front ends read "Dr." as the end of a sentence (Piper then pauses and restarts its
prosody), spell "50%" oddly and read numbers in the wrong language. So every script word
gets a spoken form before synthesis, one per word: captions keep the script's spelling
while word timings still belong to the word as written, because the voice speaks the
spoken forms in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Languages with number words and abbreviation tables here; others pass through as written.
LANGUAGES = ("en", "es")

_ABBREVIATIONS = {
    "en": {
        "dr.": "doctor",
        "mr.": "mister",
        "mrs.": "missus",
        "ms.": "miz",
        "prof.": "professor",
        "st.": "saint",
        "jr.": "junior",
        "sr.": "senior",
        "vs.": "versus",
        "etc.": "et cetera.",
        "e.g.": "for example",
        "i.e.": "that is",
        "approx.": "approximately",
        "no.": "number",
    },
    "es": {
        "dr.": "doctor",
        "dra.": "doctora",
        "sr.": "señor",
        "sra.": "señora",
        "srta.": "señorita",
        "ud.": "usted",
        "uds.": "ustedes",
        "etc.": "etcétera.",
        "aprox.": "aproximadamente",
        "núm.": "número",
        "pág.": "página",
    },
}

_SYMBOLS = {
    "en": {
        "&": "and",
        "+": "plus",
        "=": "equals",
        "@": "at",
        "#": "number",
        "°": "degrees",
        "%": "percent",
        "€": "euros",
        "$": "dollars",
    },
    "es": {
        "&": "y",
        "+": "más",
        "=": "igual a",
        "@": "arroba",
        "#": "número",
        "°": "grados",
        "%": "por ciento",
        "€": "euros",
        "$": "dólares",
    },
}

_UNITS = {
    "en": {"%": "percent", "$": "dollars", "€": "euros", "£": "pounds"},
    "es": {"%": "por ciento", "$": "dólares", "€": "euros", "£": "libras"},
}

#: Leading symbol, the number itself, then a trailing unit or ordinal suffix.
_NUMBER = re.compile(
    r"^(?P<pre>[$€£]?)(?P<number>\d[\d,.]*\d|\d)(?P<post>%|€|st|nd|rd|th|º|ª|\.º|\.ª)?$"
)
#: Punctuation kept around a word so the voice still pauses where the script does.
_QUOTES = "\"'\u201c\u2018\u201d\u2019"  # straight and curly quotation marks
_OPENERS = _QUOTES + "¿¡(["
_EDGES = re.compile(
    rf"^(?P<lead>[{re.escape(_OPENERS)}]*)(?P<core>.*?)(?P<trail>[{_QUOTES})\].,;:!?…]*)$"
)


#: Frequent short words of each language, to tell a script's language when no voice says it.
_COMMON_WORDS = {
    "en": {"the", "and", "of", "to", "is", "it", "that", "you", "with", "for", "are", "this"},
    "es": {"el", "la", "de", "que", "y", "los", "las", "un", "una", "es", "por", "con", "para"},
}


def guess_language(words: Sequence[str]) -> str:
    """ "es" or "en", whichever language's common words the script uses more (ties: "en").

    Only for narration the user brings, whose language no voice name tells; it picks the
    number words and the reference voice the recording is aligned against.
    """
    bare = [word.strip("¿¡.,;:!?\"'()").lower() for word in words]
    scores = {
        language: sum(w in common for w in bare) for language, common in _COMMON_WORDS.items()
    }
    return "es" if scores["es"] > scores["en"] else "en"


def spoken_forms(words: Sequence[str], language: str) -> list[str]:
    """The spoken form of each script word, in order (same length as `words`)."""
    base = language.split("-")[0].split("_")[0].lower()
    if base not in LANGUAGES:
        return list(words)
    return [_speak_word(word, base) for word in words]


def _speak_word(word: str, language: str) -> str:
    bare = word.lstrip(_OPENERS)
    abbreviation = _ABBREVIATIONS[language].get(bare.lower())
    if abbreviation is not None:
        return word[: len(word) - len(bare)] + abbreviation
    edges = _EDGES.match(word)
    assert edges is not None  # the pattern matches every string
    lead, core, trail = edges["lead"], edges["core"], edges["trail"]
    if core in _SYMBOLS[language]:
        return lead + _SYMBOLS[language][core] + trail
    number = _NUMBER.match(core)
    if number is None:
        # A trailing "." after digits belongs to the number pattern's trail, handled above.
        return word
    spoken = _number_words(number["number"], number["pre"], number["post"] or "", language)
    return lead + spoken + trail if spoken else word


def _number_words(digits: str, prefix: str, suffix: str, language: str) -> str:
    """Words for one number with its currency, percent or ordinal marks; "" if unreadable."""
    # Imported by the first number, not with the module: a render whose script has no
    # numbers spares its 20 ms of imports.
    from num2words import num2words

    value = _parse_number(digits, language)
    if value is None:
        return ""
    ordinal = suffix in ("st", "nd", "rd", "th", "º", "ª", ".º", ".ª")
    if ordinal and isinstance(value, int):
        text = num2words(value, lang=language, to="ordinal")
        return text[:-1] + "a" if language == "es" and suffix.endswith("ª") else text
    is_year = isinstance(value, int) and 1100 <= value <= 2099 and not prefix and not suffix
    text = num2words(value, lang=language, to="year" if is_year else "cardinal")
    if language == "es" and isinstance(value, float):
        text = text.replace(" punto ", " coma ")  # Spanish writes and says a decimal comma
    unit = prefix or suffix
    return f"{text} {_UNITS[language][unit]}" if unit in _UNITS[language] else text


def _parse_number(digits: str, language: str) -> int | float | None:
    """The value of "1,000", "3.5" (English) or "1.000", "3,5" (Spanish); None if unclear."""
    thousands, decimal = (",", ".") if language == "en" else (".", ",")
    if re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+", digits):
        return int(digits.replace(thousands, ""))
    if re.fullmatch(r"\d+", digits):
        return int(digits)
    if re.fullmatch(rf"\d+\{decimal}\d+", digits):
        return float(digits.replace(decimal, "."))
    return None
