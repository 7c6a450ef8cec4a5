"""The checks a translated answer passes before it is shown (assist/answer.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.assist.answer import RESAMPLE_TEMPERATURES, faithful_translation
from deskpilot.text.language import untranslated_words
from tests.fakes import fake_container, fake_llm

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


@pytest.mark.parametrize(("source", "translated", "left"), [
    ("Tasks with a due date appear as all-day events. Sync is two-way.",
     "Les tâches avec une échéance apparaissent comme des événements all-day. Sync est bidirectionnel.",
     ["all", "day", "sync"]),  # English words copied as they are, also at the start of a sentence
    ("Full refund within 14 days of the annual renewal.",
     "Remboursement total dans les 14 jours suivant le renouvellement annuel.", []),
    ("Go to Settings > Security and send an email to support.",
     "Allez dans Paramètres > Sécurité (Settings > Security) et envoyez un email au support.", []),  # labels, loanword
    ("Click Save to keep the changes.", "Cliquez sur \"Save changes\" pour garder les modifications.", []),  # quoted
    ("Open the report.", "Öffnen Sie den report.", ["report"]),
    ("Write from the address on the account, with a recovery code.",
     "Écrivez depuis l'adresse de l'account, avec un code de récovery.", ["account", "recovery"]),  # elision; accent
])
def test_english_words_left_untranslated_are_found(source: str, translated: str, left: list[str]) -> None:
    language = "de" if translated.startswith("Öffnen") else "fr"
    assert untranslated_words(translated, source, language) == left


def test_a_translation_with_english_words_left_in_is_not_faithful() -> None:
    source = "- Tasks with a due date appear as all-day events."
    assert faithful_translation(source, "- Les tâches avec une échéance apparaissent comme des événements d'une journée.", "fr")
    assert not faithful_translation(source, "- Les tâches avec une échéance apparaissent comme des événements all-day.", "fr")


def test_a_line_left_partly_in_english_is_translated_again_told_which_words(tmp_path: Path) -> None:
    line = "- Tasks with a due date appear as all-day events."
    container = fake_container(tmp_path, llm=fake_llm(
        "- Les tâches avec une échéance apparaissent comme des événements all-day.",  # the whole answer
        "- Les tâches avec une échéance apparaissent comme des événements all-day.",  # line by line
        "- Les tâches avec une échéance apparaissent comme des événements d'une journée."))  # told: all, day
    assert container.assistant.translate_verified([line], "fr") == \
        "- Les tâches avec une échéance apparaissent comme des événements d'une journée."


def test_no_answer_is_shown_when_english_words_stay_in_it(tmp_path: Path) -> None:
    left_in = "- Les tâches avec une échéance apparaissent comme des événements all-day."
    container = fake_container(tmp_path, llm=fake_llm(*[left_in] * (3 + len(RESAMPLE_TEMPERATURES))))
    assert container.assistant.translate_verified(["- Tasks with a due date appear as all-day events."], "fr") == ""


def test_a_line_the_greedy_translation_keeps_in_english_is_sampled_again(tmp_path: Path) -> None:
    line = "- Plan: Enterprise; Billed monthly: Custom; Billed yearly: Custom"
    kept = "- Plan: Entreprise; Facturé mensuellement: Custom; Facturé annuellement: Custom"
    sampled = "- Plan: Entreprise; Facture mensuelle: Personnalisée; Facture annuelle: Personnalisée"
    # the whole answer, the line alone, the line told which words it left, then sampled: once more kept, then right
    container = fake_container(tmp_path, llm=fake_llm(kept, kept, kept, kept, sampled))
    assert container.assistant.translate_verified([line], "fr") == sampled


def test_a_tip_left_in_english_is_left_out_not_the_answer(tmp_path: Path) -> None:
    lines = ["Documents saved with a password cannot be opened without the password.",
             "Tip: Read Encrypting Documents with OpenPGP to learn more."]
    spanish = "Los documentos guardados con una contraseña no se pueden abrir sin la contraseña."
    tip = "Tip: Lea Encrypting Documents with OpenPGP para saber más."  # the English page's title kept
    container = fake_container(tmp_path, llm=fake_llm(f"{spanish}\n{tip}", spanish, tip, tip))
    assert container.assistant.translate_verified(lines, "es") == spanish
    # the answer itself is never left out: with only its tip translated, nothing is shown
    left_in = "Los documentos saved with a password no se pueden abrir sin the password."
    container = fake_container(tmp_path / "2", llm=fake_llm(left_in, left_in, "Consejo: lea la página.", left_in))
    assert container.assistant.translate_verified(lines, "es") == ""
