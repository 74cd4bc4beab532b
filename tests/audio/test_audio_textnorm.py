"""Text normalisation: what the voice says for each word the captions show."""

from __future__ import annotations

import pytest

from neuroshorts.audio.textnorm import guess_language, spoken_forms
from neuroshorts.audio.words import sentences


@pytest.mark.parametrize(
    ("language", "script", "expected"),
    [
        ("en", "Dr. Smith", ["doctor", "Smith"]),
        ("en", "In 2024, we", ["In", "twenty twenty-four,", "we"]),
        ("en", "$5 and 50%", ["five dollars", "and", "fifty percent"]),
        ("en", "1,000 people, 3.5 km", ["one thousand", "people,", "three point five", "km"]),
        ("en", "the 3rd & 21st", ["the", "third", "and", "twenty-first"]),
        ("en", "(42) “Mr. X”", ["(forty-two)", "“mister", "X”"]),
        ("es", "El Dr. García", ["El", "doctor", "García"]),
        ("es", "¿En 2024?", ["¿En", "dos mil veinticuatro?"]),
        ("es", "1.000 y 3,5 €", ["mil", "y", "tres coma cinco", "euros"]),
        ("es", "el 1º, 50% etc.", ["el", "primero,", "cincuenta por ciento", "etcétera."]),
        ("es", "la 2ª vez", ["la", "segunda", "vez"]),
        ("fr", "Le Dr. 2024", ["Le", "Dr.", "2024"]),  # no tables for French: as written
    ],
)
def test_spoken_forms(language: str, script: str, expected: list[str]) -> None:
    assert spoken_forms(script.split(), language) == expected


def test_one_spoken_form_per_script_word() -> None:
    words = ["Hello,", "Dr.", "No:", "7", "ways", "&", "1.5%", "of", "2,500", "things", "1st."]
    assert len(spoken_forms(words, "en")) == len(words)


def test_an_abbreviation_ends_no_sentence_but_etc_may() -> None:
    words = ["Dr.", "Who", "came.", "Then", "Mr.", "X", "left,", "etc.", "Bye!"]
    spoken = spoken_forms(words, "en")
    assert sentences(spoken) == [[0, 1, 2], [3, 4, 5, 6, 7], [8]]


@pytest.mark.parametrize(
    ("script", "language"),
    [
        ("Los pulpos tienen tres corazones y la sangre azul.", "es"),
        ("Octopuses have three hearts and their blood is blue.", "en"),
        ("¿Qué es esto? Es una prueba de la voz.", "es"),
        ("Hola.", "en"),  # nothing to tell by: English
    ],
)
def test_language_of_a_script_is_guessed(script: str, language: str) -> None:
    assert guess_language(script.split()) == language
