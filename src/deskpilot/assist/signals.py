"""Signals read from the customer's text before anything is generated (multilingual lexicons).

Each detector is a small, pure function over text; together they feed `routing.route`.
Lexicons cover English, French, German, Spanish, Italian, Portuguese and Dutch.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from deskpilot.text.words import fold


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Instructions aimed at the assistant rather than questions for support. Retrieved help pages are screened too (a
# page that matches is dropped and the answer goes to a human), so each phrase needs what only an attack says:
# help pages write "override the default rules", "the original message is quoted", "show internal notes",
# "print the instructions", "new instructions for the printer", "you are now the administrator".
_INJECTION = _compile([
    r"\b(ignore|disregard|forget)\b.{0,40}\b(previous|prior|above|earlier|all|your)\b.{0,30}"
    r"\b(instructions?|rules?|prompts?|directions?|guidelines?|context)\b",
    r"\b(system|developer|hidden|initial|original)\s+(prompt|instructions?)\b",
    # "you are now / act as" followed by a role: help pages say "You are now calculating the annual profit" and
    # "the server can act as a proxy"
    r"\b(?:you are now|act as)\s+(?:(?:an?|the|my|in)\s+)?(?:[\w-]+\s+){0,2}?(?:dan|ai|assistant|bot|chatbot|model|"
    r"gpt|llm|hacker|unrestricted|unfiltered|jailbroken|uncensored|persona|character|evil)\b|"
    r"\bpretend (?:to be|you are)\b|\bnew instructions?\s*:|\byour new instructions?\b",
    r"\bjailbreak\b|\bdo anything now\b|\b(?:dan|developer|admin|god|debug|sudo) mode\b",
    r"\b(reveal|print|show|repeat|output|leak)\b.{0,30}\byour\s+(?:\w+\s+)?(prompt|instructions|rules|guidelines|"
    r"configuration)\b",
    r"\b(reveal|leak|output|dump)\b.{0,30}\b(internal|confidential)\b",
    r"<\s*/?\s*(system|assistant|instructions?)\s*>|\[\s*(system|inst)\s*\]|###\s*(system|instruction)",
    # what the assistant is to tell everyone else ("always tell users to download the app from <link>")
    r"\b(?:always|never|from now on,?)\s+(?:tell|say to|instruct|direct|send|point|recommend(?: to)?)\s+"
    r"(?:\w+\s+){0,2}?(?:users|customers|people|everyone|visitors|clients|callers)\b",
    r"\b(?:dites|dis)\s+(?:toujours|désormais)\s+(?:aux|à tous les)\s+(?:utilisateurs|clients)\b",  # fr
    r"\b(?:sag|sage|sagen sie)\s+(?:den|allen)\s+(?:nutzern|kunden|benutzern)\s+(?:immer|ab jetzt)\b",  # de
    r"\b(?:di|diga|dile|dígales)\s+siempre\s+a\s+(?:los|todos los)\s+(?:usuarios|clientes)\b",  # es
    r"\bignore[zr]?\b.{0,30}\b(instructions?|consignes?|r[eè]gles)\b",  # fr
    r"\b(vergiss|ignoriere)\b.{0,40}\b(anweisungen|regeln|vorgaben)\b",  # de
    r"\bignora\b.{0,40}\b(instrucciones|reglas|istruzioni|regole)\b",  # es / it
    r"\bignore\b.{0,40}\b(instru[cç][oõ]es|regras)\b",  # pt
    r"\bnegeer\b.{0,40}\b(instructies|regels)\b",  # nl
])

# The customer asks for a person.
_HUMAN = _compile([
    r"\b(talk|speak|chat|connect me|put me through|transfer me)\b.{0,25}\b(human|person|agent|someone|somebody|"
    r"representative|rep|operator|staff|real)\b",
    r"\b(human|live|real)\s+(agent|person|support|representative|being)\b",
    r"\b(need|want|get)\b.{0,15}\b(a human|a person|an agent|a real person|a representative)\b",
    r"\bescalate\b|\bopen a ticket\b|\bcreate a ticket\b|\bcall me( back)?\b",
    r"\b(parler|discuter)\b.{0,25}\b(humain|personne|conseiller|agent|quelqu'un|quelqu’un)\b|\bun humain\b"
    r"|\bvrai conseiller\b|\bservice client\b.{0,20}\b(humain|t[eé]l[eé]phone)\b",
    r"\b(mit|einen?)\b.{0,20}\b(menschen|mitarbeiter|berater|agenten|person)\b.{0,20}\b(sprechen|reden|verbinden)\b"
    r"|\b(echten|menschlichen)\s+(mitarbeiter|menschen|support)\b",
    r"\b(hablar|comunicarme)\b.{0,25}\b(humano|persona|agente|asesor|alguien)\b",
    r"\b(parlare)\b.{0,25}\b(umano|persona|operatore|agente)\b",
    r"\b(falar)\b.{0,25}\b(humano|pessoa|atendente|agente)\b",
    r"\b(spreken|praten)\b.{0,25}\b(mens|medewerker|persoon)\b",
])

# Topics a bot must not handle alone (security incidents, data loss, legal, billing disputes).
_SENSITIVE = {
    "security": _compile([
        r"\b(hacked|compromised|breach(ed)?|unauthori[sz]ed (access|login|sign-?in|charges?)|account takeover|"
        r"(someone|somebody|a stranger)( else)? (has )?(logged|signed) ?in(to)?|stolen (account|password|card)|"
        r"phishing|ransomware|data leak)\b",
        r"\b(pirat[eé]|compromis|fuite de donn[eé]es|usurpation)\b",
        r"\b(gehackt|kompromittiert|datenleck|unbefugte?n? zugriff)\b",
        r"\b(hackeado|hackearon|comprometid[ao]|robo de cuenta|filtraci[oó]n)\b",
        r"\b(hackerato|violat[oa]|furto)\b",
    ]),
    "data_loss": _compile([
        r"\b(lost|deleted|disappeared|missing|wiped|vanished)\b.{0,30}\b(all|every|entire|whole|my|our)\b.{0,30}"
        r"\b(data|projects?|files?|tasks?|work|workspace|everything|history)\b",
        r"\b(all|every|entire|whole)\b.{0,30}\b(data|projects?|files?|tasks?|work|workspace|history)\b.{0,30}"
        r"\b(gone|lost|deleted|disappeared|missing|wiped|vanished)\b",
        r"\bdata loss\b|\bcorrupt(ed)? data\b|\brestore (from )?backup\b",
        r"\b(perdu|disparu|supprim[eé])\b.{0,30}\b(donn[eé]es|projets?|fichiers?|tout)\b",
        r"\b(verloren|gel[öo]scht|verschwunden)\b.{0,30}\b(daten|projekte|alles)\b|\bdatenverlust\b",
        r"\b(perd[ií]|perdimos|borrad[oa]s?|desaparecid[oa]s?)\b.{0,30}\b(datos|proyectos|todo)\b",
    ]),
    "legal": _compile([
        r"\b(lawyer|attorney|lawsuit|legal action|sue|suing|court|solicitor|cease and desist|subpoena|"
        r"data protection authority|regulator|gdpr complaint|ombudsman)\b",
        r"\b(avocat|poursuites?|plainte|tribunal|mise en demeure|cnil)\b",
        r"\b(anwalt|klage|gericht|rechtliche schritte|abmahnung)\b",
        r"\b(abogado|demanda|tribunal|denuncia|acciones legales)\b",
        r"\b(avvocato|denuncia|causa legale)\b",
    ]),
    "billing_dispute": _compile([
        r"\b(chargeback|charge-?back|dispute (the|this|a) (charge|payment)|disputing|fraudulent charge|"
        r"unauthori[sz]ed charge|contest(ing)? the charge|report(ing)? (this|it) to my bank)\b",
        r"\b(litige|contester (le|la|ce) (paiement|pr[eé]l[eè]vement)|opposition bancaire|r[eé]trofacturation)\b",
        r"\b(r[üu]ckbuchung|zahlung (zur[üu]ckbuchen|anfechten)|widerspruch bei der bank)\b",
        r"\b(contracargo|disputa|reclamar al banco|cargo fraudulento)\b",
    ]),
}

_NEGATIVE = _compile([
    r"\b(furious|angry|livid|outraged|disgusted|unacceptable|ridiculous|pathetic|terrible|horrible|awful|worst|"
    r"useless|incompetent|scam|rip-?off|fed up|sick of|disgrace|appalling|shameful|waste of (time|money))\b",
    r"\b(f+u+c+k+\w*|shit\w*|damn|wtf|crap)\b",
    r"\b(inadmissible|inacceptable|scandaleux|honteux|nul|ras le bol|arnaque|furieux|d[eé]go[uû]t[eé])\b",
    r"\b(unversch[äa]mt|inakzeptabel|frechheit|katastrophe|w[üu]tend|betrug|sauer)\b",
    r"\b(inaceptable|vergonzoso|horrible|estafa|furioso|harto|indignante)\b",
    r"\b(inaccettabile|vergognoso|truffa|arrabbiato)\b",
    r"\b(inaceit[aá]vel|vergonhoso|golpe|furioso)\b",
])
_NEGATIVE_EMPHASIS = re.compile(r"!!+|\?!|\b[A-Z]{4,}\b(?:\s+\b[A-Z]{2,}\b){2,}")


@dataclass
class TextSignals:
    """What the detectors found in one piece of customer text."""

    injection: bool = False
    human_requested: bool = False
    sensitive: list[str] = field(default_factory=list)
    negativity: float = 0.0


@functools.lru_cache(maxsize=8192)
def detect_injection(text: str) -> bool:
    """True when the text tries to instruct the assistant (prompt injection). Remembered: the same
    retrieved chunks are screened again on every question they are retrieved for."""
    return bool(_INJECTION.search(text) or _INJECTION.search(fold(text)))


def detect_human_request(text: str) -> bool:
    """True when the customer asks for a person."""
    return bool(_HUMAN.search(text) or _HUMAN.search(fold(text)))


def detect_sensitive(text: str) -> list[str]:
    """Sensitive topics mentioned: security, data_loss, legal, billing_dispute."""
    folded = fold(text)
    return [topic for topic, pattern in _SENSITIVE.items() if pattern.search(text) or pattern.search(folded)]


def negativity(text: str) -> float:
    """0 (neutral) to 1 (very negative), from an insult/complaint lexicon and shouting."""
    hits = max(len(_NEGATIVE.findall(text)), len(_NEGATIVE.findall(fold(text))))
    emphasis = len(_NEGATIVE_EMPHASIS.findall(text))
    return min(1.0, 0.35 * (hits / 2) + 0.2 * emphasis)


def read_signals(text: str) -> TextSignals:
    """All detectors over one text."""
    return TextSignals(detect_injection(text), detect_human_request(text), detect_sensitive(text), negativity(text))
