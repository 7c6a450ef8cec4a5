"""How close each test's model scores land to the thresholds that decide its outcome.

A test whose assertion hangs on a similarity or a confidence within numeric noise of a cut passes on one CPU
and fails on another (the int8 embedding kernels and llama.cpp's native build give slightly different numbers
per instruction set). This plugin wraps the places where a real model's score meets a threshold:

- routing (`route`): the best similarity against `min_relevance`, the confidence against `min_confidence`, the
  share of kept claims against `min_coverage`;
- the citation check: each claim's support against `min_support`;
- content gaps: the clustering tree's merge heights against the cut;
- conflicts: chunk-pair similarities against `conflict_similarity`.

With `DESKPILOT_TEST_MARGINS=report.json` it records, for every test, the smallest distance of any such score
from its threshold, prints the closest ones at the end and writes them all as JSON. With
`DESKPILOT_TEST_EMBEDDING_JITTER=0.02` the local embedder's vectors are nudged by a deterministic noise of that
relative size before use: a stand-in for another CPU's kernels, so a fragile test fails here rather than on
someone else's machine.

Recording never changes a result: the wrapped functions return what the originals return.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPORT = os.environ.get("DESKPILOT_TEST_MARGINS", "")
# The least distance from a threshold that a test may rely on. int8 against fp32 embeddings, and one CPU's kernels
# against another's, moved the scores of the sample kb by up to about 0.02.
MARGIN = 0.05
JITTER = float(os.environ.get("DESKPILOT_TEST_EMBEDDING_JITTER", "0") or 0)


@dataclass
class Near:
    """One score compared with its threshold."""

    what: str
    value: float
    threshold: float

    @property
    def margin(self) -> float:
        return abs(self.value - self.threshold)


_current: list[Near] = []
_by_test: dict[str, Near] = {}


def note(what: str, value: float, threshold: float) -> None:
    """Record one comparison of a model score with a threshold (the test in progress owns it)."""
    _current.append(Near(what, float(value), float(threshold)))


def assert_clear(value: float, threshold: float, what: str) -> None:
    """Fail, on every machine, a fixture whose score lies within MARGIN of the threshold that decides the test."""
    assert abs(value - threshold) >= MARGIN, (
        f"{what}: {value:.4f} lies within {MARGIN} of the threshold {threshold}: the test would pass or fail by CPU")


def _replace(module_attr: str, wrapper_factory: Any) -> None:
    """Wrap `module.attr` and every module that imported the same object by name."""
    module_name, attr = module_attr.rsplit(".", 1)
    __import__(module_name)
    original = getattr(sys.modules[module_name], attr)
    wrapped = wrapper_factory(original)
    for module in list(sys.modules.values()):
        if module is not None and getattr(module, attr, None) is original:
            setattr(module, attr, wrapped)


def _wrap_route(original: Any) -> Any:
    @functools.wraps(original)
    def route(answer: str, signals: Any, thresholds: Any) -> Any:
        decision = original(answer, signals, thresholds)
        if signals.searched and not signals.llm_failed and not signals.not_found:
            note("routing.top_relevance", signals.top_relevance, thresholds.min_relevance)
        if signals.claims_kept:
            note("routing.confidence", decision.confidence, thresholds.min_confidence)
            note("routing.coverage", signals.coverage, thresholds.min_coverage)
        return decision
    return route


def _wrap_cluster_labels(original: Any) -> Any:
    @functools.wraps(original)
    def cluster_labels(vectors: np.ndarray, similarity: float) -> list[int]:
        if len(vectors) >= 2:
            from scipy.cluster.hierarchy import linkage
            from scipy.spatial.distance import pdist

            distances = np.clip(np.nan_to_num(pdist(vectors, metric="cosine"), nan=1.0), 0.0, 2.0)
            for height in linkage(distances, method="average")[:, 2]:
                note("gaps.merge_height", float(height), 1.0 - similarity)
        return original(vectors, similarity)
    return cluster_labels


def _wrap_similar_pairs(original: Any) -> Any:
    @functools.wraps(original)
    def similar_pairs(vectors: np.ndarray, groups: np.ndarray, threshold: float, *args: Any, **kwargs: Any) -> Any:
        unit = np.asarray(vectors, dtype=np.float32)
        if 2 <= len(unit) <= 3000:
            unit = unit / np.maximum(np.linalg.norm(unit, axis=1), 1e-12)[:, None]
            sims = unit @ unit.T
            other = np.asarray(groups)[:, None] != np.asarray(groups)[None, :]
            upper = np.triu(np.ones_like(sims, dtype=bool), 1) & other
            values = sims[upper]
            if values.size:
                nearest = values[np.argmin(np.abs(values - threshold))]
                note("conflicts.pair_similarity", float(nearest), threshold)
        return original(vectors, groups, threshold, *args, **kwargs)
    return similar_pairs


def _wrap_check(original: Any) -> Any:
    @functools.wraps(original)
    def check(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        for claim in [*result.kept, *result.removed]:
            if claim.support:
                note("citations.support", claim.support, self.min_support)
        return result
    return check


def _jitter(vector: list[float], text: str) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "replace")).digest()[:8], "little")
    base = np.asarray(vector, dtype=np.float64)
    noise = np.random.default_rng(seed).standard_normal(base.shape)
    nudged = base + JITTER * np.linalg.norm(base) * noise / np.linalg.norm(noise)
    return (nudged / max(np.linalg.norm(nudged), 1e-12) * np.linalg.norm(base)).tolist()


def _wrap_embedder(cls: Any) -> None:
    embed_documents, embed_query = cls.embed_documents, cls.embed_query

    @functools.wraps(embed_documents)
    def documents(self: Any, texts: list[str]) -> list[list[float]]:
        return [_jitter(v, t) for v, t in zip(embed_documents(self, texts), texts, strict=True)]

    @functools.wraps(embed_query)
    def query(self: Any, text: str) -> list[float]:
        return _jitter(embed_query(self, text), text)

    cls.embed_documents, cls.embed_query = documents, query


def install() -> None:
    """Wrap the threshold comparisons (and jitter the local embedder when asked)."""
    if REPORT:
        from deskpilot.assist.citations import CitationChecker

        _replace("deskpilot.assist.routing.route", _wrap_route)
        _replace("deskpilot.ops.gaps.cluster_labels", _wrap_cluster_labels)
        _replace("deskpilot.ops.hygiene.similar_pairs", _wrap_similar_pairs)
        CitationChecker.check = _wrap_check(CitationChecker.check)  # type: ignore[method-assign]
    if JITTER:
        from deskpilot.providers.embeddings import LocalEmbeddings

        _wrap_embedder(LocalEmbeddings)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    _current.clear()
    yield
    if _current:
        _by_test[item.nodeid] = min(_current, key=lambda n: n.margin)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not REPORT or not _by_test:
        return
    rows = sorted(_by_test.items(), key=lambda kv: kv[1].margin)
    Path(REPORT).write_text(json.dumps(
        [{"test": test, "what": n.what, "value": round(n.value, 4), "threshold": n.threshold,
          "margin": round(n.margin, 4)} for test, n in rows], indent=1), encoding="utf-8")
    print(f"\nclosest scores to a threshold (all {len(rows)} in {REPORT}):")
    for test, near in rows[:25]:
        print(f"  {near.margin:.4f}  {near.what:<28} {near.value:.4f} vs {near.threshold:.4f}  {test}")


def pytest_configure(config: pytest.Config) -> None:
    install()
