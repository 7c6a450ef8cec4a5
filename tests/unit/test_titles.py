"""Which pages a conversation names (retrieval/titles.py): titles found in a turn's words, however loosely they
are spoken or typed, and the subject of a conversation as the latest turn that names one."""

from __future__ import annotations

from deskpilot.retrieval.titles import AMBIGUOUS, TitleNames

TITLES = {
    "burgers-union": "Super Duper Burgers - Union Square",
    "burgers-castro": "Super Duper Burgers - Castro",
    "dragon": "DragonEats - SoMa",
    "citadel": "SF Citadel (attraction)",
    "palace": "Palace Of Fine Arts",
    "rooster": "Rooster & Rice - Union Square",
    "ramp": "The Ramp",
    "laurel": "Laurel Inn, a Joie de Vivre Hotel",
    "sso": "Single sign-on (SAML)",
    "help": "Help",
    "illusions": "Museum Of 3D Illusions (attraction)",
    "one-seven": "Restaurant One Seven (restaurant)",
}


def named(text: str) -> list[str]:
    return sorted(source for source, _ in TitleNames(TITLES).named(text))


def test_a_title_is_named_by_its_words_however_spaced_stemmed_or_qualified() -> None:
    assert named("how about super duper burgers") == ["burgers-castro", "burgers-union"]  # the name before " - "
    assert named("it's called dragon eats is that ok") == ["dragon"]  # "DragonEats", spaces taken out
    assert named("we have the s. f. citadel how's that sound") == ["citadel"]  # "(attraction)" is a qualifier
    assert named("the one rated most highly is the palace of fine art") == ["palace"]  # arts ~ art
    assert named("one's called kin khao and the other one's rooster and rice") == ["rooster"]  # & is "and"
    assert named("the laurel inn has three stars") == ["laurel"]  # the name before ", a ..."
    assert named("Is single sign-on included in the Team plan?") == ["sso"]
    assert named("the second is the museum of three d. illusions") == ["illusions"]  # numbers spoken as words
    assert named("how about restaurant 1 7") == ["one-seven"]  # ...or written as digits


def test_a_short_word_alone_or_a_title_inside_longer_words_names_nothing() -> None:
    assert named("is there a wheelchair ramp") == []  # "The Ramp" needs its "the"
    assert named("can you help me?") == []  # a one-word name shorter than five letters
    assert named("the ramp has a happy hour") == ["ramp"]
    assert named("superduperburgersandfries") == []  # words are matched whole, not inside a longer word
    assert named("superduperburgers") == ["burgers-castro", "burgers-union"]


def test_the_subject_is_what_the_latest_naming_turn_names() -> None:
    names = TitleNames(TITLES)
    turns = ["do they take mastercard?", "I recommend DragonEats", "what about the palace of fine arts?"]
    assert names.subject(turns) == ["dragon"]  # latest first: the assistant's turn names it
    assert names.subject(["is it open late?", "nothing here"]) == []
    assert names.subject(["how about super duper burgers?"]) == ["burgers-castro", "burgers-union"]
    branch = ["do they take cards?", "how about super duper burgers?", "a burger place near union square please"]
    assert names.subject(branch) == ["burgers-union"]  # the rest of its title was said
    assert names.subject(["what about kin khao or rooster and rice?"]) == ["rooster"]  # "Kin Khao" is not a title here


def test_a_turn_naming_too_many_pages_keeps_only_its_longest_names() -> None:
    titles = {f"p{i}": f"Page number {i} of the guide" for i in range(AMBIGUOUS + 2)}
    titles["long"] = "The big illustrated handbook of everything"
    names = TitleNames(titles)
    many = " and ".join(f"page number {i}" for i in range(AMBIGUOUS + 2))
    assert names.subject([many]) == []  # six equally long names: none in particular
    assert names.subject([f"{many} and the big illustrated handbook of everything"]) == ["long"]


def test_what_is_asked_about_a_page_is_the_question_without_its_name() -> None:
    names = TitleNames(TITLES)
    assert names.unnamed("What is the zip code of Super Duper Burgers?", ["burgers-union"]) == "what is the zip code of"
    assert names.unnamed("Does the Palace of Fine Arts allow dogs?", ["palace"]) == "does the allow dogs"
    assert names.unnamed("Does DragonEats deliver?", ["palace"]) == "Does DragonEats deliver?"  # not the page asked
    assert names.unnamed("can I bring my dog?", ["palace"]) == "can I bring my dog?"  # names nothing: unchanged
