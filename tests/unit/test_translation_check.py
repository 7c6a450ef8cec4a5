"""The checks a translated answer passes before it is shown (assist/answer.py)."""

from __future__ import annotations

import pytest

from deskpilot.assist.answer import faithful_translation

SOURCE = "- Choose File - Print.\n- In the Page Layout section, select Brochure.\n- Print 2 copies within 24 hours."


@pytest.mark.parametrize(("translated", "ok"), [
    ("- Choisissez Fichier - Imprimer.\n- Dans la section Mise en page, sélectionnez Brochure.\n"
     "- Imprimez 2 copies dans les 24 heures.", True),
    ("- Choisissez Fichier - Imprimer.\n- Dans la section Mise en page, sélectionnez Brochure.\n"
     "- Imprimez 2 copies dans les 48 heures.", False),  # a number changed
    ("- Choisissez Fichier - Imprimer et sélectionnez Brochure, 2 copies, 24 heures.", False),  # steps merged
    ("Je suis désolé, je ne peux pas traduire 2 24.\n-\n-", False),  # a refusal, not a translation
    ("- Choisissez File - Print.\n- Dans the Page Layout section, select Brochure.\n"
     "- Imprimez 2 copies within 24 hours.", False),  # English left in
    ("", False),
])
def test_a_translation_keeps_numbers_lines_length_and_language(translated: str, ok: bool) -> None:
    assert faithful_translation(SOURCE, translated, "fr") is ok
