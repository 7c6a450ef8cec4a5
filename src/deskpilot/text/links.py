"""Links and e-mail addresses in text: what an answer, a summary or a compared passage may only repeat.

One pattern for every reader, so that the citation check, the summary check and the fact comparison agree on
what a link is: a web link (``http(s)://`` or a bare ``www.``) up to white space or a closing bracket or
quote, or an e-mail address.
"""

from __future__ import annotations

import re

LINK_RE = re.compile(r"(?:https?://|www\.)[^\s)\]>\"']+|[\w.+-]+@[\w-]+\.[\w.]+")


def links(text: str) -> list[str]:
    """The links and e-mail addresses of a text, in order, without the sentence punctuation that ends them."""
    return [link.rstrip(".,;") for link in LINK_RE.findall(text)]
