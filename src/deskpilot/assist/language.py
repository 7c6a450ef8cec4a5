"""The customer's language, and the fixed messages the assistant sends in it."""

from __future__ import annotations

from deskpilot.text.language import detect_language

LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian",
                  "fi": "Finnish", "pl": "Polish", "cs": "Czech", "ro": "Romanian", "tr": "Turkish",
                  "ru": "Russian", "uk": "Ukrainian", "ja": "Japanese", "zh": "Chinese", "ko": "Korean",
                  "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "id": "Indonesian", "vi": "Vietnamese"}

_HANDOFF = {
    "en": "I'm not able to answer this reliably, so I'm passing your question to our support team. "
          "A person will get back to you here.",
    "fr": "Je ne peux pas répondre à cette question de façon fiable : je la transmets à notre équipe support. "
          "Une personne vous répondra ici.",
    "de": "Ich kann diese Frage nicht zuverlässig beantworten und leite sie an unser Support-Team weiter. "
          "Ein Mitarbeiter meldet sich hier bei Ihnen.",
    "es": "No puedo responder a esto con seguridad, así que paso tu pregunta a nuestro equipo de soporte. "
          "Una persona te responderá aquí.",
    "it": "Non posso rispondere in modo affidabile, quindi inoltro la tua domanda al nostro team di supporto. "
          "Una persona ti risponderà qui.",
    "pt": "Não consigo responder a isto com segurança, por isso vou encaminhar a sua pergunta para a nossa equipa "
          "de suporte. Uma pessoa irá responder-lhe aqui.",
    "nl": "Ik kan dit niet betrouwbaar beantwoorden, dus ik stuur je vraag door naar ons supportteam. "
          "Een medewerker neemt hier contact met je op.",
}
_HUMAN_REQUESTED = {
    "en": "Of course: I'm connecting you with our support team. A person will get back to you here.",
    "fr": "Bien sûr : je vous mets en relation avec notre équipe support. Une personne vous répondra ici.",
    "de": "Natürlich: Ich verbinde Sie mit unserem Support-Team. Ein Mitarbeiter meldet sich hier bei Ihnen.",
    "es": "Por supuesto: te pongo en contacto con nuestro equipo de soporte. Una persona te responderá aquí.",
    "it": "Certo: ti metto in contatto con il nostro team di supporto. Una persona ti risponderà qui.",
    "pt": "Claro: vou pô-lo em contacto com a nossa equipa de suporte. Uma pessoa irá responder-lhe aqui.",
    "nl": "Natuurlijk: ik verbind je met ons supportteam. Een medewerker neemt hier contact met je op.",
}
_SEE_ALSO = {"en": "These articles may help in the meantime:", "fr": "Ces articles peuvent vous aider en attendant :",
             "de": "Diese Artikel helfen vielleicht schon weiter:", "es": "Mientras tanto, estos artículos pueden ayudarte:",
             "it": "Nel frattempo, questi articoli potrebbero aiutarti:",
             "pt": "Entretanto, estes artigos podem ajudar:", "nl": "Deze artikelen kunnen je in de tussentijd helpen:"}


def question_language(question: str, history_text: str = "", default: str = "en") -> str:
    """Language of the question; very short questions borrow the language of the conversation."""
    words = question.split()
    if len(words) < 3 and history_text:
        return detect_language(history_text + "\n" + question, default)
    return detect_language(question, default)


def language_name(code: str) -> str:
    """English name of a language code, for prompts."""
    return LANGUAGE_NAMES.get(code, code)


def handoff_message(language: str, human_requested: bool) -> str:
    """The honest hand-off message in the customer's language (English where we have no translation)."""
    table = _HUMAN_REQUESTED if human_requested else _HANDOFF
    return table.get(language, table["en"])


def see_also(language: str) -> str:
    """Lead-in for the list of partly relevant articles."""
    return _SEE_ALSO.get(language, _SEE_ALSO["en"])


def is_handoff_text(text: str) -> bool:
    """True when text is one of the assistant's own hand-off messages (in any language)."""
    start = text.strip()[:60]
    return any(start and message.startswith(start[:40]) for table in (_HANDOFF, _HUMAN_REQUESTED)
               for message in table.values())
