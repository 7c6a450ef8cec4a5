"""The composer: whole sections, a procedure whole and in order, the best section for the question, and answers
made only of source text. A bag-of-words embedder stands in for the model (meaning = shared words)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

import numpy as np
import pytest

from deskpilot.assist import compose
from deskpilot.assist.answer import Assistant
from deskpilot.assist.compose import (
    FACT_WORDS,
    OPPOSITE_WAY,
    TIE,
    Composer,
    Section,
    _read_on,
    answers_the_way,
    instructs,
    join_chunks,
    next_section,
    split_units,
    way,
)
from deskpilot.retrieval.search import RetrievedChunk
from deskpilot.text.words import compounds, tokenize


def bag_of_words(texts: list[str]) -> list[list[float]]:
    out = []
    for text in texts:
        vector = np.zeros(512)
        for token in tokenize(text):
            vector[int(hashlib.sha256(token.encode()).hexdigest(), 16) % 512] += 1.0
        out.append(vector.tolist() if vector.any() else [1.0] + [0.0] * 511)
    return out


def section(heading: str, lines: list[str], title: str = "Export your data", source: str = "export") -> Section:
    chunk = RetrievedChunk(f"{source}#{heading}", f"{title}\n{heading}\n\n" + "\n".join(lines),
                           {"source_id": source, "title": title, "section": heading, "kind": "article"}, 0.5)
    return Section(chunk, heading, split_units(lines))


WHOLE = section("Export the whole workspace", [
    "Only the workspace Owner and Admins can export the whole workspace.",
    "To export the workspace:",
    "- Go to Admin > Data > Export.",
    "- Choose a format: CSV or JSON.",
    "- Optionally tick Include attachments.",
    "- Click Start export.",
    "We prepare the export in the background. Most exports are ready within a few minutes; very large "
    "workspaces can take up to 2 hours. When it's ready, you get an e-mail with a download link. Exports are kept "
    "for a week on our servers and you can download them again from the history page at any time in that week."])
LINK = section("The download link", [
    "The download link in the e-mail is valid for 24 hours.",
    "Only the person who started the export can use the link, and they must be signed in.",
    "You can start up to 5 exports per 24 hours per workspace.",
    "If the link has expired, start a new export. Previous exports are listed under Admin > Data > Export > History, "
    "but expired files can't be downloaded again. Exports of very large workspaces are split into several files of "
    "at most 2 GB each, and every file has its own link."])
PRICES = section("Prices", ["The Team plan costs $8 per user per month.", "Business costs $24 per user per month."],
                 title="Plans and pricing", source="plans")


def test_a_procedure_is_answered_whole_in_order_with_its_lead_in() -> None:
    found = Composer(bag_of_words).compose(["how do I export the whole workspace?"], [LINK, WHOLE, PRICES])
    assert found is not None and found.section is WHOLE
    assert found.lines()[:6] == ["Only the workspace Owner and Admins can export the whole workspace.",
                                 "To export the workspace:", "- Go to Admin > Data > Export.",
                                 "- Choose a format: CSV or JSON.", "- Optionally tick Include attachments.",
                                 "- Click Start export."]
    # ...and what the page says next (when it is ready, how long it is kept): the customer reads on, so does the answer
    assert found.lines()[6].startswith("We prepare the export in the background.")


def test_a_fact_is_answered_with_its_sentence_not_the_whole_section() -> None:
    found = Composer(bag_of_words).compose(["how long is the download link valid?"], [WHOLE, LINK, PRICES])
    assert found is not None and found.section is LINK
    assert found.lines()[0] == "The download link in the e-mail is valid for 24 hours."
    assert len(" ".join(found.lines()).split()) <= FACT_WORDS + 40  # a paragraph, not the section to its end
    assert "5 exports per 24 hours" in " ".join(found.lines())  # the sentences right after it are read on


def test_every_line_of_an_answer_is_source_text() -> None:
    composer = Composer(bag_of_words)
    for question in ("how do I export", "how many exports per day", "download link expired", "price of Team plan",
                     "can admins export", "what happens in the background"):
        found = composer.compose([question], [WHOLE, LINK, PRICES])
        assert found is not None
        source = " ".join(found.section.text.split())
        for line in found.lines():
            assert " ".join(line.removeprefix("- ").split()) in source


def test_a_short_section_is_answered_whole() -> None:
    found = Composer(bag_of_words).compose(["what does the Team plan cost?"], [WHOLE, PRICES])
    assert found is not None and found.section is PRICES
    assert found.lines() == ["The Team plan costs $8 per user per month.", "Business costs $24 per user per month."]


def test_an_unrelated_question_fits_worse_than_a_related_one() -> None:
    composer = Composer(bag_of_words)
    related = composer.compose(["how do I export the whole workspace?"], [WHOLE, LINK])
    unrelated = composer.compose(["can I pay with bitcoin?"], [WHOLE, LINK])
    assert related is not None and unrelated is not None
    assert related.score - unrelated.score > 0.3


def test_units_keep_lists_with_their_lead_in_and_cut_paragraphs_into_sentences() -> None:
    units = split_units(["Intro. Second sentence.", "Do this:", "- one", "- two", "After."])
    assert [(u.text, u.item, u.block) for u in units] == [
        ("Intro.", False, 0), ("Second sentence.", False, 0), ("Do this:", False, 1), ("one", True, 1),
        ("two", True, 1), ("After.", False, 2)]


def test_joined_chunks_drop_the_lines_their_overlap_repeats() -> None:
    assert join_chunks(["a\nb\nc", "b\nc\nd", "e"]) == ["a", "b", "c", "d", "e"]


def test_a_tip_between_two_steps_does_not_cut_the_procedure() -> None:
    brochure = section("To print a brochure", [
        "- Choose File - Print.", "- In the Print dialog, click Properties.",
        "- In the properties dialog for your printer, set the paper orientation to landscape.",
        "Tip: If your printer prints duplex, use the duplex - short edge setting.",
        "- Return to the Print dialog.", "- In the Page Layout section, select Brochure.", "- Click Print.",
        "If you print a document in portrait on a landscape page, two opposing sides are printed next to each other "
        "so that the sheets can be folded in the middle and read as a book, without collating them by hand."],
        title="Printing a brochure", source="brochure")
    found = Composer(bag_of_words).compose(["how do I print a brochure?"], [brochure, PRICES])
    assert found is not None and found.section is brochure
    shown = found.lines()
    assert [line for line in shown if line.startswith("- ")] == [
        "- Choose File - Print.", "- In the Print dialog, click Properties.",
        "- In the properties dialog for your printer, set the paper orientation to landscape.",
        "- Return to the Print dialog.", "- In the Page Layout section, select Brochure.", "- Click Print."]
    assert shown.index("Tip: If your printer prints duplex, use the duplex - short edge setting.") == 3


def test_an_answer_does_not_open_with_the_faqs_question() -> None:
    faq = section("FAQ", ["Can I get a refund for a monthly plan?",
                          "Monthly payments are not refunded, including partial months. You can cancel at any time and "
                          "keep access until the end of the month you have paid for.",
                          "Can I get a refund for a yearly plan?",
                          "Yearly plans are refunded in full within 14 days of the renewal. After 14 days we cannot "
                          "refund a yearly invoice, in full or in part, and the plan runs to its end date."],
                  title="Refund policy", source="refunds")
    found = Composer(bag_of_words).compose(["refund for a monthly plan"], [faq])
    assert found is not None
    assert found.lines()[0].startswith("Monthly payments are not refunded")


def test_reading_on_stops_before_the_next_faq_question() -> None:
    faq = section("FAQ", ["Can I get a refund for a monthly plan?",
                          "No. Monthly payments are not refunded.",
                          "Can I get a refund for a yearly plan?",
                          "Yearly plans are refunded in full within 14 days of the renewal."],
                  title="Refund policy", source="refunds")
    found = Composer(bag_of_words).compose(["monthly plan refund"], [faq, PRICES])
    assert found is not None
    assert found.lines() == ["No. Monthly payments are not refunded."]


def test_reading_on_does_not_start_a_list_it_cannot_finish() -> None:
    long_steps = [f"- Step {n}: open the panel number {n} and check each of its eleven settings one by one carefully."
                  for n in range(1, 13)]
    page = section("Backups", ["Backups run every night at 02:00 and are kept for 30 days.",
                               "They hold every project, comment and file.",
                               "You can also restore an older backup yourself:", *long_steps],
                   title="Backups", source="backups")
    found = Composer(bag_of_words).compose(["when do backups run every night"], [page, PRICES])
    assert found is not None
    shown = found.lines()
    assert shown[0].startswith("Backups run every night at 02:00")
    assert shown[-1] == "They hold every project, comment and file."  # read on...
    assert not any(line.startswith("- ") for line in shown)  # ...but 12 long steps are not started, nor cut


def test_steps_keep_their_numbers_and_a_how_to_question_prefers_them_to_a_bulleted_list() -> None:
    steps = section("Request a new password", ["1. Go to the sign-in page.", "2. Click Forgot password?.",
                                                "3. Open the e-mail and click Choose a new password."],
                    title="Reset your password", source="reset")
    rules = section("Password rules", ["Your new password must:", "- be at least 10 characters long;",
                                       "- contain a number;", "- differ from your last 5 passwords."],
                    title="Reset your password", source="reset")
    found = Composer(bag_of_words).compose(["how do I get a new password?"], [rules, steps])
    assert found is not None and found.section is steps
    assert found.lines() == ["1. Go to the sign-in page.", "2. Click Forgot password?.",
                             "3. Open the e-mail and click Choose a new password."]
    # a question that is not a how-to still gets the list that matches it best
    rules_found = Composer(bag_of_words).compose(["what must a new password contain?"], [rules, steps])
    assert rules_found is not None and rules_found.section is rules


def test_a_tie_between_sections_goes_to_the_page_the_search_ranked_first() -> None:
    composer = Composer(bag_of_words)
    # the same section on two pages (a copy): equal scores, and the page the search found first wins
    copy = section(LINK.heading, [u.text for u in LINK.units], source="export-copy")
    found = composer.compose(["how long is the download link valid?"],
                             [dataclasses.replace(copy, rank=1), dataclasses.replace(LINK, rank=0)])
    assert found is not None and found.section.source_id == "export"
    assert round(found.score, 4) == dict(found.candidates)["export-copy — The download link"]  # a tie
    # a section that scores clearly better (by more than TIE) wins wherever its page was found
    found = composer.compose(["how do I export the whole workspace?"],
                             [dataclasses.replace(WHOLE, rank=1), dataclasses.replace(copy, rank=0)])
    assert found is not None and found.section.heading == WHOLE.heading
    assert found.score - dict(found.candidates)["export-copy — The download link"] > TIE


def test_small_faq_sections_merged_into_one_chunk_answer_only_the_entry_asked() -> None:
    """The chunker merges very small sections into the previous one as "Heading:" lines: an FAQ page whose
    questions are headings becomes "Do you allow dogs?:" lines, each followed by its answer."""
    faq = section("Are there age restrictions?", [
        "No, there are no age restrictions for the ride.",
        "Does the ride allow dogs?:", "No, dogs are not allowed on the ride.",
        "How much is the admission fee?:", "The admission is $13 for adults and children.",
        "Is there parking?:", "Yes, there is a free parking lot next to the entrance of the ride.",
        "Can I bring my dog?:", "No, dogs are not allowed on the ride."],
        title="7D Experience", source="ride")
    found = Composer(bag_of_words).compose(["can I bring my dog on the ride"], [faq])
    assert found is not None
    assert found.lines() == ["No, dogs are not allowed on the ride."]  # the entry asked, its answer once


def test_a_merged_faq_heading_without_its_question_mark_still_ends_the_entry_before_it() -> None:
    lines = ["Apple Pay is not accepted at this facility.",
             "do you have parking:", "This facility provides valet parking as well as street parking.",
             "do you have parking › Steps to follow:", "Pay at the counter."]
    faq = Section(section("Do you take Apple Pay?", []).chunk, "Do you take Apple Pay?",
                  split_units(lines, ["do you have parking", "do you have parking › Steps to follow"]))
    found = Composer(bag_of_words).compose(["do they accept apple pay at this facility"], [faq])
    assert found is not None and found.lines() == ["Apple Pay is not accepted at this facility."]
    parking = Composer(bag_of_words).compose(["is there valet parking"], [faq])
    assert parking is not None and parking.lines()[0].startswith("This facility provides valet parking")
    assert "Pay at the counter." in " ".join(parking.lines())  # a subsection's heading does not end it
    assert "Steps to follow:" in parking.lines()  # shown as its own part, not as the page's path to it
    assert not any(" › " in line for line in parking.lines())


def test_a_merged_faq_entry_is_scored_under_its_own_heading() -> None:
    """An entry merged into the section before it ("Does Fish House deliver?:") fits its question as well as it
    would as a section of its own: its heading is its topic, not the first entry's ("Are high chairs available?")."""
    first = "Are high chairs available?"
    merged = Section(section(first, [], title="Fish House", source="fish").chunk, first,
                     split_units(["High chairs are available.", "Does Fish House deliver?:",
                                  "Fish House does not deliver food."], ["Does Fish House deliver?"]))
    alone = section("Does Fish House deliver?", ["Fish House does not deliver food."], title="Fish House", source="fish")
    asked = ["does fish house deliver food"]
    found, own = Composer(bag_of_words).compose(asked, [merged]), Composer(bag_of_words).compose(asked, [alone])
    assert found is not None and own is not None
    assert found.lines() == ["Fish House does not deliver food."]
    assert abs(found.score - own.score) < 1e-6



def test_a_merged_section_whose_heading_asks_nothing_is_answered_alone() -> None:
    """A short page section followed by small sections merged into it ("Turn off 2FA:", a heading that is no
    question): the answer is the entry that fits, not the whole short section from its start."""
    lines = ["Owners can require 2FA for everyone:", "1. Go to Admin > Security > Two-factor authentication.",
             "2. Turn on Require two-factor authentication.",
             "Turn off 2FA:", "Go to Settings > Security > Two-factor authentication and click Disable.",
             "Use a recovery code:", "Enter one of your recovery codes instead of the six-digit code."]
    merged = Section(section("Require 2FA for the workspace", [], title="Two-factor authentication",
                             source="2fa").chunk, "Require 2FA for the workspace",
                     split_units(lines, ["Turn off 2FA", "Use a recovery code"]))
    found = Composer(bag_of_words).compose(["how do I turn off 2FA for my account?"], [merged])
    assert found is not None
    assert found.lines() == ["Go to Settings > Security > Two-factor authentication and click Disable."]
    required = Composer(bag_of_words).compose(["how can owners require 2FA for everyone in the workspace?"], [merged])
    assert required is not None and required.lines() == lines[:3]

def test_an_answer_never_shows_another_entrys_question() -> None:
    """The best match was an FAQ entry's question ("Is there a parking garage near by?:"), its answer and the
    entry before it were taken: read in page order, the question between them is left out."""
    units = split_units(["Yes, bike parking is available.", "Is there a parking garage near by?:",
                         "Yes, there is a parking garage at Union Square."], ["Is there a parking garage near by?"])
    assert _read_on(units, [0, 2], 1, how_to=False) == [0, 2]


def test_a_sentence_is_shown_once_even_when_the_page_repeats_it() -> None:
    from deskpilot.assist.compose import Composition

    page = section("WiFi", ["Is there WiFi?:", "WiFi is free for guests.", "Is the WiFi free?:", "WiFi is free for guests."],
                   title="Hotel", source="hotel")
    shown = Composition(page, [1, 3], 1, 0.9, 0.9).lines()
    assert shown == ["WiFi is free for guests."]


def test_a_sentence_about_the_page_itself_is_never_the_answer() -> None:
    intro = section("", ["This article explains how to export the whole workspace and how long the download link is "
                         "valid.", "Exports are available on every plan."])
    found = Composer(bag_of_words).compose(["how do I export the whole workspace?"], [intro, WHOLE])
    assert found is not None and found.section is WHOLE
    alone = Composer(bag_of_words).compose(["how do I export the whole workspace?"], [intro])
    assert alone is not None and not any(line.startswith("This article") for line in alone.lines())


def test_a_follow_up_is_not_answered_with_what_was_just_said() -> None:
    record = section("Record changes", ["1. Choose Edit - Track Changes - Record.",
                                        "2. Make your changes: insertions are underlined, deletions struck through."],
                     title="Recording changes", source="record")
    accept = section("Accept or reject changes", ["1. Choose Edit - Track Changes - Manage.",
                                                  "2. Select a change and click Accept or Reject, or Accept All."],
                     title="Accepting or rejecting changes", source="accept")
    questions = ["how do I record changes and accept them all with track changes?"]
    said = "Choose Edit - Track Changes - Record. From then on insertions are underlined, deletions struck through."
    assert Composer(bag_of_words).compose(questions, [record, accept]).section is record  # type: ignore[union-attr]
    found = Composer(bag_of_words).compose(questions, [record, accept], said=said)
    assert found is not None and found.section is accept


def test_a_sentence_that_says_what_to_do_is_told_from_one_that_only_talks_about_it() -> None:
    doing = ["Choose Insert - Page Number to insert a page number.", "Go to **Admin > Billing > Invoices**.",
             "To turn it off, click Settings and clear the box.", "If you want the total, use the SUM function.",
             "You can change it in your profile.", "Usernames cannot be changed.",
             "1. Allez dans Administration > Facturation.", "Cliquez sur Enregistrer.", "Klicken Sie auf OK.",
             "Seleccione la celda y pulse Intro.", "Support answers at support@orbitly.example within a day.",
             "The status page is https://status.orbitly.example.", "Ctrl+Shift+X removes direct formatting."]
    talking = ["In Writer, a page number is a field that you can insert into your text.",
               "In a sheet cell you can show a reference to a cell in another sheet.",
               "Orbitly sends invoices every month.", "Un numéro de page est un champ.",
               "Die Seitenzahl ist ein Feld.", "El número de página es un campo."]
    assert [t for t in doing if not instructs(t)] == []
    assert [t for t in talking if instructs(t)] == []


def test_how_to_do_something_answered_with_nothing_to_do_is_not_an_answer() -> None:
    intro = split_units(["In Writer, a page number is a field that you can insert into your text."])
    steps = split_units(["1. Choose Insert - Header and Footer - Footer.", "2. Choose Insert - Field - Page Number."])
    place = split_units(["Word and character count is shown in the status bar."])
    assert not answers_the_way(["how do i put page numbers at the bottom of every page?"], intro)
    assert not answers_the_way(["¿Cómo pongo números de página?"], intro)
    assert not answers_the_way(["Comment ajouter des numéros de page ?"], intro)
    assert not answers_the_way(["page numbers at the bottom of every page, how?"], intro)
    assert not answers_the_way(["the footer shows no page number, what do I do?"], intro)
    assert answers_the_way(["how do i put page numbers at the bottom of every page?"], steps)
    signing = split_units(["To sign a document digitally, you need a personal key, the certificate.",
                           "About Digital Signatures › Save and sign the document:"],
                          merged=["About Digital Signatures › Save and sign the document"])
    assert not answers_the_way(["how do I digitally sign a document?"], signing)  # a heading line is no step
    assert answers_the_way(["what is a page number?"], intro)  # a fact asked, a fact answered
    assert answers_the_way(["how does page numbering work?"], intro)  # how it works, not what to do
    assert answers_the_way(["where is the word count?"], place)  # a place asked, a place answered


def test_the_margin_says_how_clearly_the_chosen_section_beats_the_next_best() -> None:
    composer = Composer(bag_of_words)
    clear = composer.compose(["how do I export the whole workspace?"], [WHOLE, PRICES])
    close = composer.compose(["how long is the download link of the workspace export valid?"], [WHOLE, LINK])
    assert clear is not None and close is not None
    assert clear.margin == clear.score - max(score for name, score in clear.candidates if not name.startswith("export"))
    assert close.margin < clear.margin
    alone = composer.compose(["how do I export the whole workspace?"], [WHOLE])
    assert alone is not None and alone.margin == alone.score  # nothing else to choose: it wins by all it scores


def test_a_section_whose_heading_names_the_question_is_read_even_when_its_steps_are_far_from_it() -> None:
    """Steps full of links and button names can be further from "how do I reset my password?" than every other
    section of the page, which repeat its words: the heading that names the question still puts them in the
    shortlist."""
    def chunk(heading: str, body: str) -> RetrievedChunk:
        text = f"Reset your password\n{heading}\n\n{body}"
        return RetrievedChunk(f"reset#{heading}", text, {"source_id": "reset", "title": "Reset your password",
                                                         "section": heading, "kind": "article"}, 0.5,
                              vector=bag_of_words([body])[0])
    steps = chunk("Request a reset link", "1. Go to https://app.example/login.\n2. Click Forgot password?.")
    others = [chunk(f"Rule {i}", f"Your new password must not reuse password {i}; a password is "
                                          f"never sent by e-mail.") for i in range(4)]
    shortlisted = Composer(bag_of_words).shortlist(["how do I reset my password?"], [*others, steps], limit=3)
    assert "Request a reset link" in [s.heading for s in shortlisted]


def test_the_way_a_question_or_heading_acts_in_four_languages() -> None:
    on = ["how do I turn hyphenation on?", "Inserting page numbers", "Enable two-factor authentication",
          "comment activer la synchronisation ?", "Seitenzahlen einfügen", "¿Cómo añadir un usuario?", "turn it on again"]
    off = ["Preventing hyphenation of specific words", "Turning Off AutoCorrect", "how to get rid of the red lines",
           "the autocomplete drives me nuts. turn off??", "how do i switch it off", "comment désactiver la correction",
           "Benutzer entfernen", "¿Cómo quitar el filtro?", "Delete your account"]
    neither = ["how do I add and remove users", "switch to landscape on one page", "the active sheet is quite slow",
               "Drawing lines in text", "Change your password",
               # what happened, not what is wanted
               "I deleted the text of a footnote but its number is still there", "I turned off autosave and now",
               "j'ai supprimé la page", "Ich habe die Seite gelöscht", "eliminé el archivo"]
    assert [way(t) for t in on] == [1] * len(on)
    assert [way(t) for t in off] == [-1] * len(off)
    assert [way(t) for t in neither] == [0] * len(neither)


def test_a_section_headed_the_opposite_way_of_the_question_loses_to_the_one_asked(monkeypatch) -> None:
    """Turning something on and turning it off share every word but one: the section headed the opposite way is the
    neighbouring task. It scores OPPOSITE_WAY less and never wins a tie by its page's rank."""
    prevent = section("Preventing hyphenation of words", [
        "If you want words never to be hyphenated, you can switch off hyphenation for those words.",
        "1. Choose Tools - Options - Language Settings - Writing Aids.", "2. Add the word to the exclusion list."],
        title="Hyphenation", source="hyphen-prevent")
    automatic = section("Automatic hyphenation", [
        "Hyphenation of words at the end of a line makes justified text look even.",
        "1. Right-click a paragraph and choose Paragraph.", "2. On the Text Flow tab, select Automatically."],
        title="Hyphenation", source="hyphen-use")
    asked = ["how do I turn hyphenation of words on?"]
    sections = [dataclasses.replace(prevent, rank=0), dataclasses.replace(automatic, rank=1)]
    key = "hyphen-prevent — Preventing hyphenation of words"
    found = Composer(bag_of_words).compose(asked, sections)
    assert found is not None and found.section.source_id == "hyphen-use"
    # without the rule, the section that switches it off would be the answer
    monkeypatch.setattr(compose, "way", lambda text: 0)
    blind = Composer(bag_of_words).compose(asked, sections)
    assert blind is not None and blind.section.source_id == "hyphen-prevent"
    assert dict(blind.candidates)[key] - dict(found.candidates)[key] == pytest.approx(OPPOSITE_WAY, abs=1e-4)
    monkeypatch.undo()
    # asked the other way round, the section that switches it off is the answer
    off = Composer(bag_of_words).compose(["how do I prevent hyphenation of words?"], sections)
    assert off is not None and off.section.source_id == "hyphen-prevent"


def test_the_section_read_on_into_is_the_next_one_under_the_chosen_one() -> None:
    def chunk(heading: str, body: str, index: int) -> RetrievedChunk:
        return RetrievedChunk(f"refs#{index}", body, {"source_id": "refs", "title": "Referencing Other Sheets",
                                                      "section": heading, "chunk_index": index}, 0.0)

    chunks = [chunk("Referencing Other Sheets", "In a sheet cell you can show a reference to a cell in another sheet.", 0),
              chunk("Referencing Other Sheets › In the Same Document", "1. Enter =Sheet2.A1", 1),
              chunk("Referencing Other Sheets › In the Same Document", "2. Press Enter.", 2),
              chunk("Referencing Other Sheets › In Another Document", "1. Choose File - Open.", 3),
              chunk("Referencing Other Sheets › In Another Document › Links", "Links are URLs.", 4)]

    def at(index: int) -> Section:
        return Section(chunks[index], str(chunks[index].metadata["section"]), split_units([chunks[index].body]))

    introduction = next_section(at(0), chunks)  # the page's introduction: its first section follows
    assert introduction is not None and introduction.heading == "Referencing Other Sheets › In the Same Document"
    assert [(u.number, u.text) for u in introduction.units] == [(1, "Enter =Sheet2.A1"), (2, "Press Enter.")]  # whole
    assert next_section(at(1), chunks) is None  # a sibling is another task, not the rest of this one
    subsection = next_section(at(3), chunks)
    assert subsection is not None and subsection.heading.endswith("› Links")  # its own subsection follows
    assert next_section(at(4), chunks) is None  # the last section
    untitled = [dataclasses.replace(c, metadata={**c.metadata, "section": ""}) if i == 0 else c
                for i, c in enumerate(chunks)]  # a page without a title heading: the text before its first heading
    first = next_section(Section(untitled[0], "", split_units([untitled[0].body])), untitled)
    assert first is not None and first.heading.endswith("In the Same Document")


def test_a_long_table_is_looked_up_by_its_row_and_a_short_one_shown_whole() -> None:
    codes = [f"- Code: ERR_SYNC_{n}; Meaning: {meaning} on your phone or tablet; What to do: {action} If it happens "
             "again, send us the app's diagnostics." for n, meaning, action in [
        (401, "Your session has expired", "Sign in again."), (403, "You no longer have access", "Ask an Admin."),
        (409, "Conflict: the item was changed on another device", "Copy your text from the comment."),
        (413, "An attachment is too large", "Upload it from the web app."), (429, "Too many requests", "Wait."),
        (500, "Server error", "Try again later.")]]
    errors = section("Sync error codes", ["The app shows these codes:", *codes], title="Fix sync problems",
                     source="sync")
    assert compose.table_blocks(errors.units) == {0}
    assert sum(len(line.split()) for line in codes) > compose.SHORT_SECTION_WORDS  # not shown whole for being short
    found = Composer(bag_of_words).compose(["the app shows ERR_SYNC_409 conflict, what do I do?"], [errors, PRICES])
    assert found is not None and found.section is errors
    assert found.lines() == ["The app shows these codes:", codes[2]]  # the row asked, after the lead-in
    plans = section("Prices", ["Our plans:", "- Plan: Team; Monthly: $12 per user", "- Plan: Business; Monthly: $24 "
                               "per user", "- Plan: Enterprise; Monthly: custom"] + [
                        "Prices exclude VAT. Yearly billing saves about 17% compared with paying monthly, and "
                        "every plan can be cancelled at any time from the billing page in the admin area."] * 2,
                    title="Plans and pricing", source="plans")
    shown = Composer(bag_of_words).compose(["how much is the Business plan per user?"], [plans, WHOLE])
    assert shown is not None and shown.section is plans
    assert shown.lines()[:4] == ["Our plans:", "- Plan: Team; Monthly: $12 per user",
                                 "- Plan: Business; Monthly: $24 per user", "- Plan: Enterprise; Monthly: custom"]
    # a bulleted list whose items name different things is a list, not a table
    assert compose.table_blocks(split_units(["- Optional: sign in either way.", "- Required: SSO only."])) == set()


def test_a_list_item_of_several_sentences_or_cells_is_as_close_as_its_closest_one() -> None:
    row = ("- Code: ERR_SYNC_409; Meaning: Conflict between two devices; What to do: Orbitly keeps the newest version "
           "of the task and saves yours as a comment. Copy anything you need from it before you close the app.")
    codes = section("Sync error codes", [row, "- Code: ERR_SYNC_500; Meaning: Server error; What to do: Wait."],
                    title="Fix sync problems", source="sync")
    question = "what is a conflict between two devices?"
    found = Composer(bag_of_words).compose([question], [codes])
    assert found is not None and found.anchor == 0

    def cosine(a: str, b: str) -> float:
        x, y = np.asarray(bag_of_words([a, b]), dtype=np.float32)
        return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))

    cell = cosine(question, "Meaning: Conflict between two devices")
    assert found.anchor_score == pytest.approx(cell, abs=1e-5)
    assert cell > cosine(question, row.removeprefix("- "))  # the whole row's vector is diluted by the other cells


def test_a_heading_or_sentence_about_the_alternative_the_question_does_not_pick_loses(monkeypatch) -> None:
    """Headings that differ by one word each ("Monthly plans", "Yearly plans") name two alternatives: a question that
    names one is not answered by a heading or sentence about the other."""
    assert compose.contraries({"monthly", "refund"}, ["Monthly plans", "Yearly plans", "FAQ"]) == ({"yearly"},
                                                                                                    {"monthly"})
    assert compose.contraries({"refund"}, ["Monthly plans", "Yearly plans"]) == (set(), set())  # neither named
    monthly = section("Monthly plans", ["Monthly payments are not refunded: you keep your paid features until the end "
                                        "of the month."], title="Refund policy", source="refunds")
    yearly = section("Yearly plans", ["A yearly plan is refunded in full within 14 days."], title="Refund policy",
                     source="refunds")
    faq = section("FAQ", ["Can I get a refund for this month on a yearly plan?", "Only within 14 days of the renewal."],
                  title="Refund policy", source="refunds")
    asked = ["we're on monthly, can I get a refund for this month?"]
    found = Composer(bag_of_words).compose(asked, [faq, monthly, yearly])
    assert found is not None and found.section.heading == "Monthly plans"
    monkeypatch.setattr(compose, "CONTRARY", 0.0)  # without the rule, the FAQ entry about yearly plans answers
    blind = Composer(bag_of_words).compose(asked, [faq, monthly, yearly])
    assert blind is not None and blind.section.heading == "FAQ"


def test_words_written_apart_match_the_same_words_written_as_one() -> None:
    """ "master card" / "Mastercard", "log in" / "login", "wi fi" / "Wi-Fi": a customer's words count as held by a
    sentence that writes them as one word, and the other way round."""
    assert compounds("do they take master card")["mastercard"] == ("master", "card")
    assert compounds("how do I log in")["login"] == ("log",)  # "in" is a stopword: no token of its own
    assert compounds("free Wi-Fi")["wifi"] == ("wi-fi",)
    asked = "do they take master card?"
    words = set(tokenize(asked))
    assert compose._overlap(words, "We accept Visa and Mastercard.") == 0.0  # word for word
    assert compose._overlap(words, "We accept Visa and Mastercard.", compounds(asked)) == pytest.approx(2 / 3)
    login = set(tokenize("where is the login page"))
    assert compose._overlap(login, "Log in with your e-mail.", compounds("where is the login page")) == 0.5


def test_a_page_the_conversation_is_about_is_compared_without_its_names() -> None:
    """ "do they allow dogs?" about Lake Merced: the page's entries name it and the follow-up does not. Compared
    without the page's names on both sides, the entry fits as well as an entry that never named the park would,
    and what is shown is still the page's own text."""
    lines = ["Does Lake Merced allow dogs?:", "Yes, Lake Merced Park allows dogs on a leash.",
             "Is there parking at Lake Merced?:", "Lake Merced Park has free parking."]
    page = Section(section("About", [], title="Lake Merced Park", source="merced").chunk, "About",
                   split_units(lines, ["Does Lake Merced allow dogs?", "Is there parking at Lake Merced?"]))
    asked = ["do they allow dogs"]

    def unnamed(text: str) -> str:
        return " ".join(w for w in text.split() if w.strip("?:,.").lower() not in {"lake", "merced", "park"})

    named, compared = Composer(bag_of_words).compose(asked, [page]), Composer(bag_of_words).compose(asked, [page],
                                                                                                       hide=unnamed)
    assert named is not None and compared is not None
    assert compared.lines() == named.lines() == ["Yes, Lake Merced Park allows dogs on a leash."]
    assert compared.score > named.score + 0.1


def test_a_page_about_a_named_thing_names_itself_and_a_help_article_does_not() -> None:
    """A business's FAQ names the business in most of its sentences; a help article's title names its topic, which
    its sentences seldom repeat: only the first is compared with a follow-up without its names."""
    park = section("About", ["Yes, Lake Merced Park allows dogs on a leash.", "Lake Merced Park has free parking.",
                             "Bikes are welcome."], title="Lake Merced Park", source="merced")

    def without(name: str) -> Callable[[str], str]:
        return lambda text: text.replace(name, "").strip()

    assert Assistant._names_itself([park], without("Lake Merced Park"))
    assert not Assistant._names_itself([WHOLE, LINK], without("Export your data"))
    assert not Assistant._names_itself([], without("Export your data"))
