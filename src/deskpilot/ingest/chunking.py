"""Structure-aware chunking sized in tiktoken tokens.

Chunks never cross a section boundary of a different audience; each carries its document title and
section heading, which are also prepended to the text that is embedded and indexed. Very small
sections are merged into the previous chunk so that no chunk is a lone line.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field

import tiktoken

from deskpilot.index.documents import Chunk, SourceDocument, translation_group

_SENTENCE_RE = re.compile(r"(?<=[.!?。！？])\s+(?=[\"'(\[A-ZÀ-ÖØ-Þ0-9-])")


@dataclass
class _Block:
    heading: str
    audience: str
    units: list[tuple[str, int]]
    merged: list[str] = field(default_factory=list)  # headings of the small sections merged into it

    @property
    def tokens(self) -> int:
        return sum(n for _, n in self.units)


class Chunker:
    """Splits documents into token-bounded chunks with overlap."""

    def __init__(self, encoding: tiktoken.Encoding, chunk_size: int = 200, overlap: int = 30,
                 merge_below: int = 40) -> None:
        if overlap >= chunk_size:
            raise ValueError("chunk overlap must be smaller than the chunk size")
        self._enc = encoding
        self._count_short = functools.lru_cache(maxsize=32768)(lambda text: len(encoding.encode_ordinary(text)))
        self.chunk_size = chunk_size
        self.overlap = overlap
        self.merge_below = merge_below

    def count(self, text: str) -> int:
        """Tokens in text (short texts, such as the sentences prompts are built from, are remembered)."""
        return self._count_short(text) if len(text) <= 4000 else len(self._enc.encode_ordinary(text))

    def chunk(self, doc: SourceDocument, salt: str = "") -> list[Chunk]:
        """Chunks of a cleaned document with deterministic ids and complete metadata.

        `salt` enters every chunk's content hash (and so its id): the pipeline passes the fingerprint of
        what shapes the embedding besides the text (the term list), so that a change re-embeds.
        """
        blocks: list[_Block] = []
        for section in doc.sections:
            audience = section.audience or doc.audience
            units = self._units(section.text)
            for piece in self._pack(units):
                previous = blocks[-1] if blocks else None
                size = sum(n for _, n in piece)
                if (previous is not None and previous.audience == audience and size < self.merge_below
                        and previous.tokens + size <= self.chunk_size):
                    if previous.heading != section.heading and section.heading:
                        previous.units.append((section.heading + ":", self.count(section.heading) + 1))
                        previous.merged.append(section.heading)
                    previous.units.extend(piece)
                else:
                    blocks.append(_Block(section.heading, audience, list(piece)))
        chunks = []
        for index, block in enumerate(blocks):
            body = "\n".join(text for text, _ in block.units).strip()
            header = doc.title if not block.heading else f"{doc.title}\n{block.heading}"
            text = f"{header}\n\n{body}"
            metadata: dict[str, str | int | float | bool] = {
                "source_id": doc.source_id, "title": doc.title, "path": doc.path, "url": doc.url,
                "section": block.heading, "kind": doc.kind, "audience": block.audience,
                "language": doc.language or "en", "translation": translation_group(doc.source_id, doc.url, doc.translation_of),
                "updated_at": doc.updated_at, "chunk_index": index, "tokens": block.tokens,
                # every heading whose text is in the chunk (its own, then those of small sections merged into it):
                # a page's outline, to find a section's counterpart in a translation whose sections merged otherwise
                "headings": "\n".join(dict.fromkeys([block.heading, *block.merged])),
            }
            metadata.update({k: v for k, v in doc.extra.items() if k not in metadata})
            digest = hashlib.sha256((salt + text + json.dumps(metadata, sort_keys=True)).encode()).hexdigest()
            metadata["content_hash"] = digest
            chunks.append(Chunk(f"{doc.source_id}#{index}:{digest[:12]}", text, metadata))
        return chunks

    def _units(self, text: str) -> list[tuple[str, int]]:
        """Paragraph/line units, split further into sentences and token windows when too long."""
        units: list[tuple[str, int]] = []
        for line in text.split("\n"):
            line = line.strip()
            if not line:
                continue
            size = self.count(line)
            if size <= self.chunk_size:
                units.append((line, size))
                continue
            for sentence in _SENTENCE_RE.split(line):
                size = self.count(sentence)
                if size <= self.chunk_size:
                    units.append((sentence, size))
                    continue
                tokens = self._enc.encode_ordinary(sentence)
                step = self.chunk_size - self.overlap
                for start in range(0, len(tokens), step):
                    window = tokens[start:start + self.chunk_size]
                    units.append((self._enc.decode(window), len(window)))
                    if start + self.chunk_size >= len(tokens):
                        break
        return units

    def _pack(self, units: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
        """Greedy packing of units into chunks of at most chunk_size tokens, with unit-level overlap."""
        pieces: list[list[tuple[str, int]]] = []
        current: list[tuple[str, int]] = []
        size = 0
        for unit in units:
            if current and size + unit[1] > self.chunk_size:
                pieces.append(current)
                carried: list[tuple[str, int]] = []
                carried_size = 0
                for previous in reversed(current):
                    if carried_size + previous[1] > self.overlap or carried_size + previous[1] + unit[1] > self.chunk_size:
                        break
                    carried.insert(0, previous)
                    carried_size += previous[1]
                current, size = carried, carried_size
            current.append(unit)
            size += unit[1]
        if current:
            pieces.append(current)
        return pieces
