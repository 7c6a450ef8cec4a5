"""Answers composed from the best section of the knowledge base: its own sentences and steps, nothing added.

A small model paraphrasing snippets drops steps, mixes pages and invents settings. Here the answer is chosen,
not written:

1. **Sections, whole.** The retrieved chunks point at sections (a page's text under one heading). Each
   candidate section is read back whole from the index, so a procedure split over two chunks, or an intro
   sentence separated from its steps, comes back together.
2. **The best section.** Every unit (a sentence, or a list item) is scored against the question by meaning
   (cosine of the local embeddings) and by the question's content words it holds; a section is worth its best
   unit plus how well its title and heading name the question's topic.
3. **Its answer.** From the best unit (the anchor): a list it belongs to, or introduces, is taken whole with
   its lead-in (all steps, in order); otherwise the anchor's sentence and the next one when it continues it; a
   short section is taken whole. Nothing is reworded, so every sentence shown is a source sentence.

The scores are routing signals: when even the best unit is far from the question, the section does not answer
it (a topic match is not an answer), and the conversation goes to a human with links instead.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from deskpilot.retrieval.search import RetrievedChunk
from deskpilot.text.words import compounds, tokenize

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-ZÀ-ÖØ-Þ0-9¿¡])")
_ITEM_RE = re.compile(r"^(?:[-*•]|(\d+)[.)])\s+")
# A section this short is answered whole (about a paragraph and a list): the sentence that matches the question best
# often closes it ("If your browser is too old, Orbitly shows ...") after the facts that answer it (the versions
# supported). 70 -> 100 on the English questions (composer alone): key-point coverage 0.458 -> 0.500 on the sample
# kb, LibreOffice the same (0.650); answers that hold every key point unchanged (13 and 41).
SHORT_SECTION_WORDS = 100
MAX_WORDS = 130  # a fact answer stops growing past this many words (lists are kept whole)
CONTEXT_WORDS = 140  # an answer is read on from its anchor's paragraph up to about this many words...
FACT_WORDS = 100  # ...or this many when it is a fact, not steps (a paragraph)
MAX_ITEMS = 15  # ...and a list past this many items
# A table (ingestion writes its rows as list items, cells named by their headers) of more than this many rows is
# looked up, not read: the row the question matches (an error code, a parameter) with the table's lead-in. A shorter
# table (a price list) is shown whole.
TABLE_ROWS = 5
_LABEL_RE = re.compile(r"^([^:;]{1,40}): ")
_PIECE_RE = re.compile(r"(?<=[.!?])\s+|;\s+")  # a table row's cells and sentences
TOPIC_WEIGHT = 0.35  # share of a section's score that comes from its title and heading
# The section score is a rough estimate (a small embedder, word overlap): sections this close are a tie, and the
# search's ranking of their pages (dense and keyword search over whole chunks) decides. On the English questions
# (composer alone, key points all covered) ties of 0.03 to 0.07 gave the same gain: sample kb 10 -> 11 of 43,
# LibreOffice 38 -> 39-40 of 84 and the right page 56 -> 60-64 times; 0.1 and more lost answers.
TIE = 0.05
# How a question opens (en, fr, de, es): a FAQ heading without its question mark.
_ASKING = re.compile(
    r"(?:do|does|did|is|are|was|can|could|will|would|should|may|what|how|where|when|which|who|why|"
    r"est-ce|comment|où|quand|quel|quelle|quels|quelles|pourquoi|combien|puis-je|peut-on|"
    r"wie|wo|wann|was|welche[rsn]?|warum|kann|können|gibt|ist|"
    r"cómo|dónde|cuándo|qué|cuál|cuáles|por qué|puedo|hay|es)\b", re.IGNORECASE)
SAID = 0.8  # a unit whose words are this much in the assistant's previous answer repeats it
PROCEDURE_BONUS = 0.08  # a how-to question prefers a section with steps over one that only talks about it
# ...and half as much with a bulleted list only: bullets are steps on some help centres, requirements or options on
# others (numbered steps preferred: key points on the sample kb's English questions 0.472 -> 0.489, LibreOffice same)
BULLETS = 0.5
# Questions that ask for a way to do something (en, fr, de, es): their answer is a procedure when there is one.
HOW_TO = re.compile(
    r"\bhow (?:do|can|could|should|would|to|does)\b|\bsteps?\b|\bway to\b|\bwhere (?:do|can) i\b|"
    r"\bcomment\b|\bétapes?\b|\bmarche à suivre\b|\bwie (?:kann|können|mache|muss|richte|ändere|lösche|bekomme)\b|"
    r"\bschritte?\b|\banleitung\b|\bc[oó]mo\b|\bpasos?\b", re.IGNORECASE)

# Questions that ask for a way to do something themselves (en, fr, de, es), not how something works, where or
# whether: "how do I add page numbers?" is answered by what to do, "where is the word count?" by a place.
ASKS_A_WAY = re.compile(
    r"\bhow (?:do|can|could|should|would) (?:i|we|you|one|my|our)\b|\bhow to\b|\bhow\s*\?|"
    r"\bwhat (?:do|should|can|must) (?:i|we) do\b|\bque (?:dois-je|devons-nous|faut-il) faire\b|\bque faire\b|"
    r"\bwas (?:kann|soll|muss) ich tun\b|\bqu[ée] (?:hago|debo hacer|puedo hacer)\b|"
    r"\bcomment (?:(?:est-ce qu|puis-je|peut-on|faire|on|je|dois-je|fait-on)\b|[a-zé]+er\b)|"
    r"\bwie (?:kann|können|mache|muss|richte|ändere|lösche|bekomme|stelle|füge)\b|"
    r"\bc[oó]mo (?:puedo|podemos|hago|se puede|debo|cambio|pongo|activo|desactivo|[a-zá]+ar\b|[a-zé]+er\b|[a-zí]+ir\b)",
    re.IGNORECASE)
# A sentence that tells the reader what to do (en, fr, de, es): it opens with an imperative (also after "To do X,",
# "If you want X," or "Then,"), or with "You can / need to ...", or it names a menu path ("Tools - Options",
# "Admin > Billing"), a link, an address or a key combination to use, or says that it cannot be done (a way's
# honest answer).
_VERBS = (
    "choose|click|select|open|go|press|type|enter|tap|use|set|add|remove|turn|enable|disable|drag|right-click|"
    "double-click|navigate|check|uncheck|mark|clear|switch|pick|ask|copy|paste|save|install|update|restart|"
    "contact|follow|make sure|hold|move|insert|delete|edit|create|change|run|download|upload|send|scroll|toggle|"
    "expand|apply|drop|place|position|specify|fill|sign|log|reply|cancel|confirm|scan|reset|connect|visit|call|"
    "email|write|wait|try|request|submit|invite|assign|rename|share|export|import|print|zoom|hover|"
    "choisissez|cliquez|sélectionnez|ouvrez|allez|appuyez|saisissez|tapez|utilisez|activez|désactivez|cochez|"
    "décochez|faites|rendez-vous|accédez|entrez|ajoutez|supprimez|modifiez|copiez|collez|enregistrez|indiquez|"
    "contactez|écrivez|attendez|essayez|"
    "klicken|wählen|öffnen|gehen|drücken|geben|tippen|aktivieren|deaktivieren|markieren|ziehen|fügen|löschen|"
    "ändern|speichern|navigieren|kontaktieren|schreiben|warten|"
    "haga|seleccione|elija|abra|vaya|pulse|presione|escriba|introduzca|utilice|active|desactive|marque|"
    "desmarque|arrastre|añada|elimine|cambie|guarde|entre|contacte|espere|intente")
_INSTRUCTION = re.compile(
    rf"^(?:(?:to|if|when|pour|si|quand|um|wenn|para|cuando)\b[^.!?]{{0,160}},\s*|"
    rf"(?:then|next|now|first|finally|afterwards|puis|ensuite|dann|danach|luego|después)\b,?\s*)?\**(?:"
    rf"(?:{_VERBS})\b|(?:you|vous|sie|usted|puede|puedes)\s+(?:can|may|need to|must|have to|should|will need to|"
    rf"pouvez|devez|können|müssen|puede|debe|pueden|deben)\b)"
    rf"|(?-i:\b[A-Z][\w&'’]*(?: [\w&'’]+){{0,3}}\**\s(?:-|>|›|→|»)\s\**[A-Z0-9])"
    rf"|https?://|\bwww\.|\b[\w.+-]+@[\w-]+\.\w|\b(?:ctrl|cmd|command|alt|option|shift|strg)\s*\+"
    rf"|\b(?:not possible|cannot|can't|can ?not be|isn't possible|is not supported|not available|"
    rf"n'est pas possible|impossible|ne (?:peut|pouvez) pas|nicht möglich|nicht unterstützt|kann nicht|"
    rf"no es posible|no se puede|no puede)\b",
    re.IGNORECASE)

# Which way a question or a heading acts (en, fr, de, es): switching something on or adding it, or switching it
# off or removing it. A small embedder puts "turn hyphenation on" as close to "Preventing hyphenation" as to
# "Automatic hyphenation": a section headed the opposite way of what the customer asks for is the neighbouring
# task, not the answer. A text with both ways (or neither) has no way. Past forms say what happened, not what is
# wanted ("I deleted the footnote's text but its number is still there"), and count for neither way.
_OFF = re.compile(
    r"\b(?:turn(?:s|ing)?|switch(?:es|ing)?|shut(?:s|ting)?)\b(?:\s+[\w'’-]+){0,3}?\s+off\b|"
    r"\bget(?:ting)? rid of\b|"
    r"\b(?:(?:disabl|deactivat|remov|delet|uninstall|unsubscrib|exclud)(?:e|es|ing|al|ion)?|prevent(?:s|ing)?|"
    r"désactiv(?:er|ez|ation)|supprim(?:er|ez)|suppression|enlev(?:er|ez)|retir(?:er|ez)|désinstall(?:er|ez)|"
    r"désabonn(?:er|ez)|empêch(?:er|ez)|débarrasser|"
    r"deaktivier(?:en|ung)?|entfern(?:en|ung)?|lösch(?:en|ung)?|ausschalten|abschalten|ausblenden|verhinder(?:n|ung)|"
    r"deinstallier(?:en|ung)?|abbestell(?:en|ung)?|"
    r"desactiv(?:ar|o|e|a)|elimin(?:ar|o|e|a)|quitar|borrar|desinstal(?:ar|o|e|a)|evitar)\b", re.IGNORECASE)
_ON = re.compile(
    r"\b(?:turn(?:s|ing)?|switch(?:es|ing)?)\s+on\b|"  # "on" further away only where a phrase ends with it
    r"\b(?:turn(?:s|ing)?|switch(?:es|ing)?)(?:\s+[\w'’-]+){1,3}?\s+on"
    r"(?=\s*(?:[.?!,;:)]|$|(?:again|and|or|for|in|when|so|but|by)\b))|"
    r"\b(?:add(?:s|ing)?|(?:enabl|activat)(?:e|es|ing|ion)?|insert(?:s|ing|ion)?|install(?:s|ing|ation)?|"
    r"subscrib(?:e|es|ing)|"
    r"activ(?:er|ez|ation)|ajout(?:er|ez)?|insér(?:er|ez)|install(?:er|ez)|"
    r"aktivier(?:en|ung)?|hinzufüg(?:en|ung)?|einfüg(?:en|ung)?|einschalten|installier(?:en|ung)?|"
    r"activ(?:ar|o)|añad(?:ir|o|a)|agreg(?:ar|o|ue)|insert(?:ar|o|e))\b", re.IGNORECASE)
OPPOSITE_WAY = 0.1  # taken from the score of a section headed the opposite way of the question
CONTRARY = OPPOSITE_WAY  # ...and from a heading or sentence about the alternative not asked for (contraries)

# Sentences about the page itself ("This article explains how to ...", en/fr/de/es): an overview of what the page
# covers matches a question's words and answers nothing.
ABOUT_THE_PAGE = re.compile(
    r"\b(?:this|the present) (?:article|page|guide|section|help page|topic|document)\b[^.!?]{0,30}?\b(?:explains?|"
    r"describes?|covers?|shows?|contains? information|will (?:help|show|explain)|is about|tells you|walks you)\b|"
    r"\bin this (?:article|guide|help page|section|page)\b[^.!?]{0,10}?\b(?:we|you)\b|"
    r"\b(?:cet article|cette page|ce guide|cette section)\b[^.!?]{0,30}?\b(?:explique|décrit|présente|montre|"
    r"couvre|traite)\b|\bdans (?:cet article|cette page|ce guide)\b|"
    r"\b(?:dieser artikel|diese seite|diese anleitung|dieser abschnitt)\b[^.!?]{0,30}?\b(?:erklärt|beschreibt|"
    r"zeigt|behandelt)\b|\bin diesem (?:artikel|abschnitt)\b|"
    r"\b(?:este artículo|esta página|esta guía|esta sección)\b[^.!?]{0,30}?\b(?:explica|describe|muestra|"
    r"trata)\b|\ben (?:este artículo|esta página|esta guía)\b", re.IGNORECASE)


@dataclass
class Unit:
    """One sentence or list item of a section."""

    text: str
    item: bool  # a list item
    block: int  # paragraphs and lists are blocks; a list's lead-in shares its block
    line: int  # the source line it came from
    number: int = 0  # a numbered list's item: its number (a step)
    heading: bool = False  # the heading of a small section merged into this one ("Do you have parking:")


@dataclass
class Section:
    """A section of a source, read back whole from the index."""

    chunk: RetrievedChunk  # its best retrieved chunk (the citation)
    heading: str
    units: list[Unit]
    rank: int = 0  # its page's place in the search results (0: the first page found)

    @property
    def source_id(self) -> str:
        """The section's source id."""
        return self.chunk.source_id

    @property
    def topic(self) -> str:
        """Title and heading: what the section is about."""
        return self.topic_of(self.heading)

    def topic_of(self, heading: str) -> str:
        """What a heading of this section is about, under its page's title: the section's own, or a merged entry's
        (its "Heading:" line without the colon). shortlist() and compose() embed the same strings, so the embedding
        cache shares them."""
        return f"{self.chunk.title} — {heading}" if heading else self.chunk.title

    @property
    def text(self) -> str:
        """The section's text, one unit a line."""
        return "\n".join(u.text for u in self.units)


@dataclass
class Composition:
    """The chosen section, the units taken from it, and how well they match the question."""

    section: Section
    chosen: list[int]
    anchor: int
    anchor_score: float  # cosine of the best unit with the question
    score: float  # the section's score
    candidates: list[tuple[str, float]] = field(default_factory=list)  # (source id — heading, score), best first
    margin: float = 1.0  # how much better it scores than the next best section (below 0: it won a tie by rank)

    @property
    def units(self) -> list[Unit]:
        """The units shown, in source order."""
        return [self.section.units[i] for i in self.chosen]

    def lines(self) -> list[str]:
        """The answer's lines: paragraphs joined, list items as '- ' lines (steps as '1. ' lines), a merged section's
        heading as its own last part ("To remove a registered database:", not the page's path to it). A paragraph of a
        sentence that the answer already holds is not shown again (FAQ pages repeat an answer under two phrasings of
        a question); repeated code lines and table cells stay."""
        out: list[str] = []
        previous: Unit | None = None
        said: set[str] = set()
        sentences_on = Counter(u.line for u in self.section.units)
        for unit in self.units:
            alone = not unit.item and sentences_on[unit.line] == 1 and len(unit.text.split()) >= 4
            if alone and unit.text in said:
                continue
            said.add(unit.text)
            if unit.heading:  # a merged section's heading, a lead-in to its text: its own part, not its path
                out.append(unit.text.split(" › ")[-1])
            elif unit.item:
                out.append(f"{unit.number}. {unit.text}" if unit.number else f"- {unit.text}")
            elif previous is not None and not previous.item and previous.line == unit.line:
                out[-1] += " " + unit.text
            else:
                out.append(unit.text)
            previous = unit
        return out


def split_units(lines: Sequence[str], merged: Sequence[str] = ()) -> list[Unit]:
    """Units of a section's lines: list items whole, paragraphs cut into sentences. A paragraph ending with a
    colon right before a list is the list's lead-in, and a few short paragraphs between two items of a list (a
    step's explanation, a tip) stay in the list: they share the list's block. `merged`: the headings of small
    sections the chunker merged into this one, written as "Heading:" lines (ingest/chunking.py)."""
    rows = [line.strip() for line in lines if line.strip()]
    headings = {f"{heading.strip()}:" for heading in merged if heading.strip()}
    units: list[Unit] = []
    block = -1
    previous_item = inside_list = False
    for number, line in enumerate(rows):
        marker = _ITEM_RE.match(line)
        item = marker is not None
        if marker is not None:
            text = line[marker.end():].strip()
            lead_in = bool(units) and not units[-1].item and units[-1].text.endswith(":")
            inside = bool(units) and units[-1].block == block and any(u.item for u in units if u.block == block)
            if not previous_item and not lead_in and not inside:
                block += 1
            units.append(Unit(text, True, block, number, int(marker.group(1) or 0)))
        else:
            if not (inside_list and _continues_list(rows, number)):
                block += 1
                inside_list = False
            if line in headings:
                units.append(Unit(line, False, block, number, heading=True))
                continue
            units.extend(Unit(s.strip(), False, block, number) for s in _SENTENCE_RE.split(line) if s.strip())
        previous_item = item
        inside_list = inside_list or item
    return units


def _asks(unit: Unit) -> bool:
    """Where another FAQ entry starts: its question, also as a merged small section's heading line ("Do you allow
    dogs?:", see ingest/chunking.py), where a question may lack its question mark ("do you have parking:"; a
    heading that asks nothing, such as a step's, does not end the answer)."""
    text = unit.text.rstrip(": ").split(" › ")[-1]  # a merged heading is its path: its own part is the last one
    return text.endswith("?") or (unit.heading and _ASKING.match(text) is not None)


def entries(section: Section) -> list[int | None]:
    """For each unit, the heading line its entry starts with: a small section merged into this one (see
    ingest/chunking.py) is an entry of its own, unless its heading is a subsection of the entry it follows ("Do you
    take Apple Pay? › Steps to follow"). None: the section's own text, under its own heading."""
    owners: list[int | None] = []
    owner, path = None, section.heading
    for i, unit in enumerate(section.units):
        heading = unit.text.rstrip(": ")
        if unit.heading and not (path and heading.startswith(f"{path} › ")):
            owner, path = i, heading
        owners.append(owner)
    return owners


def _without_leading_questions(section: Section, chosen: list[int]) -> list[int]:
    """An answer does not open with a FAQ's question ("My account is locked?"), a merged section's heading or a
    shouted heading: the customer asked the question already."""
    while len(chosen) > 1:
        unit = section.units[chosen[0]]
        if not (_asks(unit) or unit.heading or (unit.text.isupper() and len(unit.text.split()) <= 6)):
            break
        chosen = chosen[1:]
    return chosen


def _read_on(units: Sequence[Unit], chosen: list[int], anchor: int, how_to: bool) -> list[int]:
    """The chosen units with what surrounds them in the source, read as a customer reads a page: from the start
    of the anchor's paragraph on, in order, up to about CONTEXT_WORDS words (FACT_WORDS when the answer is not
    steps). It stops before the next FAQ question (another question's answer), and does not start a list it cannot
    finish. The anchor alone is often a fragment: the sentence that names the question's words, without the
    condition, the limit or the step after it that makes it an answer. (On the English questions of both suites,
    with the section choice unchanged, answers that hold every key point went from 7 to 10 of 43 on the sample kb
    and from 25 to 37 of 84 on the LibreOffice help; facts read on to 50 words gave 34, to 70 words 35, to 140
    words 39: 100 keeps a fact's answer to about a paragraph.)"""
    taken = set(chosen)
    words = CONTEXT_WORDS if how_to or any(units[i].item for i in chosen) else FACT_WORDS
    tables = table_blocks(units)
    looked_up = {units[i].block for i in chosen if units[i].item and units[i].block in tables}
    first = min(i for i, u in enumerate(units) if u.block == units[anchor].block)
    size = sum(len(units[i].text.split()) for i in taken)
    i = min(first, min(taken))
    while i < len(units) and size < words:
        unit = units[i]
        if i not in taken:
            if unit.item and unit.block in looked_up:  # a table's other rows: the answer is the row asked
                i += 1
                continue
            if _asks(unit):  # another entry's question: the answer ends before it (and never shows one)
                if i > anchor:
                    break
                i += 1
                continue
            members = [j for j in range(i, len(units)) if units[j].block == unit.block]
            if any(units[j].item for j in members) and (i == 0 or units[i - 1].block != unit.block):
                # a list, with its lead-in: whole or not at all
                if size + sum(len(units[j].text.split()) for j in members) > words * 1.5:
                    break
                taken.update(members)
                size += sum(len(units[j].text.split()) for j in members)
                i = members[-1] + 1
                continue
            taken.add(i)
            size += len(unit.text.split())
        i += 1
    return sorted(taken)


def _continues_list(rows: Sequence[str], number: int, most: int = 4, words: int = 100) -> bool:
    """Whether the paragraphs from rows[number] on are a step's explanation or a tip: a few short paragraphs
    followed by another item of the list."""
    size = 0
    for row in rows[number:number + most + 1]:
        if _ITEM_RE.match(row):
            return True
        size += len(row.split())
        if size > words:
            return False
    return False


def join_chunks(bodies: Sequence[str]) -> list[str]:
    """The lines of consecutive chunks of one section, without the lines their overlap repeats."""
    lines: list[str] = []
    for body in bodies:
        new = [line for line in body.split("\n") if line.strip()]
        overlap = 0
        for size in range(min(len(lines), len(new)), 0, -1):
            if lines[-size:] == new[:size]:
                overlap = size
                break
        lines.extend(new[overlap:])
    return lines


def instructs(text: str) -> bool:
    """Whether a sentence tells the reader what to do: an imperative, "you can ...", a menu path, a link, an e-mail
    address or a shortcut, or that it cannot be done."""
    return _INSTRUCTION.search(text.strip()) is not None


def answers_the_way(questions: Sequence[str], units: Sequence[Unit]) -> bool:
    """False when a question asks how to do something and the answer says nothing to do: no step, no instruction,
    no menu, not even that it cannot be done ("In Writer, a page number is a field that you can insert into your
    text." for "how do I put page numbers at the bottom of every page?": the page's introduction, not its steps).
    A merged section's heading line or a FAQ's question is no instruction ("About Digital Signatures › Save and sign
    the document:" heads the steps that the answer does not hold)."""
    if not any(ASKS_A_WAY.search(q) for q in questions):
        return True
    return any(u.number or (not u.heading and not _asks(u) and instructs(u.text)) for u in units)


def way(text: str) -> int:
    """Which way a text acts: 1 switching on or adding, -1 switching off or removing, 0 neither or both."""
    on, off = bool(_ON.search(text)), bool(_OFF.search(text))
    return int(on) - int(off)


def _procedure(units: Sequence[Unit]) -> float:
    """How much a section reads as a procedure: 1 with numbered steps, BULLETS with only a bulleted list (often
    requirements, options or symptoms, sometimes steps), 0 without a list (a table's rows are not a list)."""
    if sum(u.number > 0 for u in units) >= 2:
        return 1.0
    tables = table_blocks(units)
    return BULLETS if sum(u.item and u.block not in tables for u in units) >= 2 else 0.0


def contraries(asked: set[str], headings: Sequence[str]) -> tuple[set[str], set[str]]:
    """The alternatives the knowledge base tells apart by its headings, and which of them the question names: two
    headings that differ by one word each ("Monthly plans" / "Yearly plans", "Install on Windows" / "Install on
    macOS") name two alternatives, and a question that names one and not the other ("we're on monthly, can I get
    this month refunded?") is not answered by a heading or a sentence about the other one ("Can I get a refund for
    the months I didn't use on a yearly plan?"). Returns (the words of the alternatives not asked, those asked)."""
    other: set[str] = set()
    named: set[str] = set()
    for a, b in itertools.combinations([_words(h) for h in dict.fromkeys(headings)], 2):
        only_a, only_b = a - b, b - a
        if len(only_a) == 1 and len(only_b) == 1 and a & b:
            (x,), (y,) = only_a, only_b
            if (x in asked) != (y in asked):
                other.add(y if x in asked else x)
                named.add(x if x in asked else y)
    return other - named, named


def _pieces(unit: Unit) -> list[str]:
    """What of a table's row is scored against the question: the row, and each of its cells and sentences."""
    parts = [part for part in _PIECE_RE.split(unit.text) if part.strip()]
    return [unit.text, *parts] if len(parts) > 1 else [unit.text]


def table_blocks(units: Sequence[Unit]) -> set[int]:
    """The blocks that are a table's rows: ingestion writes a row as a list item whose cells are named by their
    column headers ("- Code: SSO-103; Meaning: …"), so every item of the block opens with the same "Header: "."""
    labels: dict[int, set[str | None]] = {}
    for unit in units:
        if unit.item and not unit.number:
            match = _LABEL_RE.match(unit.text)
            labels.setdefault(unit.block, set()).add(match.group(1) if match else None)
    return {block for block, found in labels.items() if len(found) == 1 and None not in found
            and sum(u.item and u.block == block for u in units) >= 2}


def _words(text: str) -> set[str]:
    return set(tokenize(text))


def _already_said(text: str, said: set[str]) -> bool:
    """Whether a unit repeats what was said: nearly all of its words (at least 3) are in it."""
    words = _words(text)
    return len(words) >= 3 and len(words & said) >= SAID * len(words)


def _overlap(question: set[str], text: str, joined: Mapping[str, tuple[str, ...]] | None = None) -> float:
    """The share of the question's words the text holds. `joined`: the question's compounds(): words it writes apart
    that the text writes as one ("log in" / "login", "master card" / "Mastercard"), and the other way round."""
    if not question:
        return 0.0
    found = _words(text)
    held = question & found
    if joined is not None:
        held |= {part for whole, parts in joined.items() if whole in found for part in parts} & question
        held |= question & set(compounds(text))
    return len(held) / len(question)


def _by_section(chunks: Sequence[RetrievedChunk]) -> dict[tuple[str, str], list[RetrievedChunk]]:
    """Chunks grouped by (source id, section), in the order the sections first appear."""
    groups: dict[tuple[str, str], list[RetrievedChunk]] = {}
    for chunk in chunks:
        groups.setdefault((chunk.source_id, str(chunk.metadata.get("section") or "")), []).append(chunk)
    return groups


def _section(best: RetrievedChunk, heading: str, members: Sequence[RetrievedChunk]) -> Section:
    """A section read back whole from its chunks (in page order), cited by its best chunk."""
    merged = [h for c in members for h in str(c.metadata.get("headings") or "").split("\n")[1:]]
    return Section(best, heading, split_units(join_chunks([c.body for c in members]), merged))


def next_section(section: Section, chunks: Sequence[RetrievedChunk]) -> Section | None:
    """The section that follows `section` on its page (`chunks`: the page's chunks in page order) when it is one of
    its subsections, or the page's first section when `section` is the page's introduction (the text before it);
    None otherwise. A page often opens with a sentence that restates what it is about ("In a sheet cell you can show
    a reference to a cell in another sheet.") and gives the steps under the next heading ("To Reference a Cell in
    the Same Document"): a reader who asked how reads on into it."""
    groups = _by_section(chunks)
    keys = [key for key in groups if key[0] == section.source_id]
    here = (section.source_id, section.heading)
    position = keys.index(here) if here in keys else len(keys)
    if position + 1 >= len(keys):
        return None
    following = keys[position + 1]
    introduction = position == 0 and " › " not in section.heading
    if not (introduction or following[1].startswith(f"{section.heading} › ")):
        return None
    return _section(groups[following][0], following[1], groups[following])


class Composer:
    """Chooses the section that answers a question and the units to show from it."""

    def __init__(self, embed: Callable[[list[str]], list[list[float]]]) -> None:
        self._embed = embed

    def shortlist(self, questions: Sequence[str], chunks: Sequence[RetrievedChunk], limit: int) -> list[Section]:
        """The sections of whole pages (chunks in page order, with their stored vectors) closest to the question:
        each section is worth its best chunk's cosine with any phrasing of the question, or its title and heading's
        when higher."""
        groups = _by_section(chunks)
        if not groups:
            return []
        asked = self._unit(list(questions))
        scored = []
        for order, ((_, heading), members) in enumerate(groups.items()):
            with_vectors = [c for c in members if c.vector is not None]
            if with_vectors:
                matrix = np.asarray([c.vector for c in with_vectors], dtype=np.float32)
                matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
                similarity = matrix @ asked.T
                best = with_vectors[int(similarity.max(axis=1).argmax())]
                score = float(similarity.max())
            else:
                best, score = members[0], 0.0
            scored.append((score, order, _section(best, heading, members)))
        # A section is also worth how well its title and heading name the question ("Reset your password —
        # Request a reset link" for "how do I reset my password?"): a chunk of steps, links and button names can
        # be further from the question than the page's other sections, which repeat its words.
        # The headings of small sections merged into one (FAQ entries, see ingest/chunking.py) count as its own:
        # each is scored as compose() scores it, under the page's title.
        topics = [(i, section.topic_of(head)) for i, (_, _, section) in enumerate(scored)
                  for head in dict.fromkeys([section.heading, *(u.text.rstrip(": ") for u in section.units if u.heading)])
                  if head]
        if topics:
            named = (self._unit([topic for _, topic in topics]) @ asked.T).max(axis=1)
            for (i, _), score in zip(topics, named, strict=True):
                scored[i] = (max(scored[i][0], float(score)), *scored[i][1:])
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [section for _, _, section in scored[:limit]]

    def compose(self, questions: Sequence[str], sections: Sequence[Section], said: str = "",
                hide: Callable[[str], str] | None = None) -> Composition | None:
        """The best section for the question (any of its phrasings) and its answer units; None without units.

        Args:
            questions: the question, and other phrasings of it (its translation into the KB's language).
            sections: candidate sections (their `rank`: their page's place in the search results).
            said: what the assistant answered in the conversation just before: a follow-up asks for something
                else ("and how do I accept them all?" after the steps to record changes), so a sentence or step
                already said is never the answer to it again (it may still be shown around a new one).
            hide: what of a text is compared with the question (the words and meaning scored; the text shown and
                its structure stay): the names of the page a follow-up is about, taken out of its entries as they
                are out of the question ("do they allow dogs?" against "Does Lake Merced allow dogs?").
        """
        sections = [s for s in sections if s.units]
        if not sections:
            return None
        # A table's row is as close to the question as its closest cell or sentence: a whole row's vector is diluted
        # by the cells the question does not ask about ("ERR_SYNC_409 … what do I do?" fell under min_fit once the
        # row held its three cells). (The same for every list item of several sentences, a step with its
        # explanation, chose better sections on the sample kb but narrowed the margins between LibreOffice's
        # sections, and routing held back 3 right answers there: kept to tables.)
        rows = [table_blocks(s.units) for s in sections]
        pieces = [(n, piece) for n, (s, u) in enumerate((s, u) for s, section in enumerate(sections)
                                                        for u in section.units)
                  for piece in (_pieces(u) if u.item and u.block in rows[s] else [u.text])]
        texts = [piece for _, piece in pieces]
        # A small section merged into the one before it keeps its own heading as a topic ("Fish House — Do they
        # deliver?"), as it would have had unmerged: a FAQ page's entries are otherwise all scored under the first
        # entry's heading.
        owners = [entries(s) for s in sections]
        heads = [(s, i) for s, owner in enumerate(owners) for i in sorted({i for i in owner if i is not None})]
        merged = [sections[s].topic_of(sections[s].units[i].text.rstrip(": ")) for s, i in heads]
        seen = hide or (lambda text: text)
        vectors = self._unit([*questions, *(seen(s.topic) for s in sections), *map(seen, merged), *map(seen, texts)])
        n_asked, n_topics = len(questions), len(questions) + len(sections)
        asked, topics, entry_vectors, piece_vectors = (vectors[:n_asked], vectors[n_asked:n_topics],
                                               vectors[n_topics:n_topics + len(merged)],
                                               vectors[n_topics + len(merged):])
        entry_scores = dict(zip(heads, (entry_vectors @ asked.T).max(axis=1) if merged else [], strict=True))
        # which way each topic acts (see way()), for the same strings that are scored
        topic_ways, entry_ways = [way(s.topic) for s in sections], dict(zip(heads, map(way, merged), strict=True))
        words = set().union(*(_words(q) for q in questions))
        joined = {whole: parts for q in questions for whole, parts in compounds(q).items()}
        how_to = any(HOW_TO.search(q) for q in questions)
        said_words = _words(said)
        topic_scores = (topics @ asked.T).max(axis=1)
        ways = {way(q) for q in questions} - {0}
        asked_way = ways.pop() if len(ways) == 1 else 0
        piece_scores = (piece_vectors @ asked.T).max(axis=1)
        other_side, asked_side = contraries(words, [s.heading.split(" › ")[-1] for s in sections] + merged)
        entry_words = dict(zip(heads, map(_words, merged), strict=True))
        owner = np.array([n for n, _ in pieces])
        unit_scores = np.full(int(owner.max()) + 1, -1.0, dtype=np.float32)
        np.maximum.at(unit_scores, owner, piece_scores)
        scored: list[tuple[float, int, np.ndarray, np.ndarray]] = []  # (score, anchor, fit, cosines) by section
        backwards: list[bool] = []  # the section's answer is headed the opposite way of the question
        start = 0
        for s, section in enumerate(sections):
            cosines = unit_scores[start:start + len(section.units)]
            start += len(section.units)
            lexical = np.array([_overlap(words, seen(u.text), joined) for u in section.units])
            fit = 0.75 * cosines + 0.25 * lexical
            dropped = [i for i, u in enumerate(section.units) if ABOUT_THE_PAGE.search(u.text)
                       or (said_words and _already_said(u.text, said_words))]
            fit[dropped] = 0.0
            topic = np.array([topic_scores[s] if owner is None else entry_scores[(s, owner)] for owner in owners[s]])
            total = (1 - TOPIC_WEIGHT) * fit + TOPIC_WEIGHT * topic
            opposite = np.array([asked_way != 0 and (topic_ways[s] if owner is None else entry_ways[(s, owner)])
                                 == -asked_way for owner in owners[s]], dtype=bool)
            total -= OPPOSITE_WAY * opposite
            if other_side:
                heading = _words(section.heading.split(" › ")[-1])
                named = [(heading if owner is None else entry_words[(s, owner)], _words(u.text))
                         for owner, u in zip(owners[s], section.units, strict=True)]
                total -= CONTRARY * np.array([bool(other_side & head and not asked_side & head)
                                              or bool(other_side & text and not asked_side & text)
                                              for head, text in named], dtype=bool)
            if len(dropped) < len(section.units):
                total[dropped] = -1.0
            anchor = int(np.argmax(total))
            score = float(total[anchor])
            if how_to:
                score += PROCEDURE_BONUS * _procedure(section.units)
            scored.append((score, anchor, fit, cosines))
            backwards.append(bool(opposite[anchor]))
        top = max(score for score, *_ in scored)
        # Sections that score within TIE of the best are told apart by the search's ranking of their pages (one headed
        # the opposite way of the question comes last).
        s = min((i for i, (score, *_) in enumerate(scored) if score >= top - TIE),
                key=lambda i: (backwards[i], sections[i].rank, -scored[i][0], i))
        score, anchor, fit, cosines = scored[s]
        section = sections[s]
        chosen = _read_on(section.units, self._extract(section, anchor, fit, how_to), anchor, how_to)
        # Small sections merged into one (ingest/chunking.py) are entries of their own: an answer that holds its
        # anchor is the anchor's entry, not its neighbours ("Turn off 2FA:" after the steps that require 2FA for
        # everyone, in a section short enough to be shown whole). A how-to question sent on from its anchor to the
        # section's steps keeps them.
        if anchor in chosen:
            chosen = [i for i in chosen if owners[s][i] == owners[s][anchor]]
        chosen = _without_leading_questions(section, chosen)
        chosen = [i for i in chosen if i == anchor or not ABOUT_THE_PAGE.search(section.units[i].text)]
        ranked = [(f"{c.source_id} — {c.heading}", round(scored[i][0], 4)) for i, c in enumerate(sections)]
        others = [other for i, (other, *_) in enumerate(scored) if i != s]
        return Composition(section, chosen, anchor, float(cosines[anchor]), score,
                           sorted(ranked, key=lambda pair: -pair[1]), score - max(others, default=0.0))

    @staticmethod
    def _extract(section: Section, anchor: int, fit: np.ndarray, how_to: bool) -> list[int]:
        """Indices of the units to show: a list whole with its lead-in (the anchor's, or for a how-to question
        the section's list nearest after the anchor), or the anchor's sentence and what continues it."""
        units = section.units
        if sum(len(u.text.split()) for u in units) <= SHORT_SECTION_WORDS and \
                not any(_asks(u) for u in units[1:]):  # several FAQ entries: only the one asked
            return list(range(len(units)))

        if _asks(units[anchor]) and anchor + 1 < len(units):
            anchor += 1  # a FAQ's question matches best, but its answer is what follows it

        def block(number: int) -> list[int]:
            return [i for i, u in enumerate(units) if u.block == number]

        def capped(members: list[int]) -> list[int]:
            """A list's units up to its MAX_ITEMS-th item (its lead-in, explanations and tips included)."""
            items = [i for i in members if units[i].item]
            return members if len(items) <= MAX_ITEMS else [i for i in members if i <= items[MAX_ITEMS - 1]]

        members = block(units[anchor].block)
        rows = [i for i in members if units[i].item]
        if units[anchor].item and len(rows) > TABLE_ROWS and units[anchor].block in table_blocks(units):
            # a long table: the row asked, after the table's lead-in
            return [i for i in members if not units[i].item and i < rows[0]] + [anchor]
        if rows:
            return capped(members)
        lists = sorted({u.block for u in units if u.item})
        # a how-to question wants steps: numbered lists first, when the section has them
        steps = (sorted({u.block for u in units if u.number}) or lists) if how_to else lists
        after = [b for b in steps if b > units[anchor].block]
        chosen = [i for i in members if i >= anchor][:2] if len(members) > 1 else [anchor]
        if len(chosen) == 2 and fit[chosen[1]] < 0.5 * fit[anchor]:
            chosen = chosen[:1]
        if after and (how_to or units[chosen[-1]].text.endswith(":") or after[0] == units[anchor].block + 1):
            # the steps the anchor leads to (a how-to question wants them even when the anchor is a prerequisite)
            return sorted(set([anchor, *capped(block(after[0]))]))
        if how_to and steps:
            return capped(block(steps[0]))
        words = sum(len(units[i].text.split()) for i in chosen)
        # The next best unit of the section when it scores nearly as well: a two-part question.
        runner = max((i for i in range(len(units)) if i not in chosen), key=lambda i: fit[i], default=None)
        if runner is not None and fit[runner] >= 0.9 * fit[anchor] and words + len(units[runner].text.split()) <= MAX_WORDS:
            chosen.append(runner)
        return sorted(set(chosen))

    def _unit(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._embed(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
