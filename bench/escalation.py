"""The escalation detector on a routing suite: right-reason recall per reason, false flags on ordinary questions,
which layer found what, and the time it adds per message.

With --calibrate, the example layer's two thresholds are chosen on one half of the suite (items with an even
position) plus the answerable questions of --extra-negatives (eval/suites/kb.jsonl), for the best right-reason
rate where the layer adds no false flag to the lexicon's (--max-added-false-flags), and every number is
reported on the other half too, which took no part in the choice. Write the chosen values to eval/thresholds.yaml's `routing:`.

    python bench/escalation.py [--suite eval/suites/routing.jsonl] [--calibrate] [--layers lexicon,examples]

On a suite without reason labels (eval/suites/kb.jsonl) it reports the false flags on its answerable questions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from deskpilot.assist.escalation import (
    LABELS,
    ORDINARY,
    SENSITIVE,
    EscalationDetector,
    ExampleClassifier,
    Lexicon,
    example_units,
    load_examples,
    sentences,
)
from deskpilot.config import Settings, load_routing
from deskpilot.evaluation.suite import SuiteItem, load_suite
from deskpilot.providers.sentences import MultilingualEncoder

OUT = Path(__file__).parent / "results"


def label_of(item: SuiteItem) -> str:
    return item.sub_reason or item.reason or "none"


def found_labels(triggers: list[Any]) -> list[str]:
    return list(dict.fromkeys(t.sub_reason if t.reason == SENSITIVE else t.reason for t in triggers))


def score(items: list[SuiteItem], found: list[list[str]]) -> dict[str, Any]:
    labelled = [(i, f) for i, f in zip(items, found, strict=True) if label_of(i) != "none"]
    ordinary = [(i, f) for i, f in zip(items, found, strict=True) if label_of(i) == "none"]
    recall = {label: [label in f for i, f in labelled if label_of(i) == label] for label in LABELS}
    return {
        "n": len(items),
        "right_reason_rate": round(sum(label_of(i) in f for i, f in labelled) / max(1, len(labelled)), 4),
        "false_flag_rate": round(sum(bool(f) for _, f in ordinary) / max(1, len(ordinary)), 4),
        "recall": {k: round(sum(v) / len(v), 3) for k, v in recall.items() if v},
    }


def detect_all(detector: EscalationDetector, items: list[SuiteItem]) -> tuple[list[list[Any]], list[float]]:
    triggers, times = [], []
    for item in items:
        started = time.perf_counter()
        found = detector.detect(item.question)
        if item.history:
            again = detector.conversation(item.question, [t.model_dump() for t in item.history])
            if again is not None:
                found.append(again)
        times.append((time.perf_counter() - started) * 1000)
        triggers.append(found)
    return triggers, times


def calibrate(classifier: ExampleClassifier, lexicon: Lexicon, items: list[SuiteItem],
              max_added_false_flags: float) -> tuple[float, float]:
    """The (min_similarity, margin) with the best right-reason rate on items, where the example layer adds at
    most max_added_false_flags to the lexicon's own false-flag rate."""
    units_of = []
    for item in items:
        units_of.append(example_units(item.question, sentences(item.question)))
    cached = [classifier.scores(u) if u else {} for u in units_of]
    lex = [[label for s in sentences(i.question) or [i.question] for label in lexicon.labels(s)] for i in items]
    best: tuple[float, float, float] | None = None
    allowed = score(items, lex)["false_flag_rate"] + max_added_false_flags
    for similarity in np.arange(0.30, 0.80, 0.02):
        for margin in np.arange(0.0, 0.20, 0.01):
            found = []
            for scores, units, lexical in zip(cached, units_of, lex, strict=True):
                labels = list(lexical)
                for label, values in scores.items():
                    if label == ORDINARY:
                        continue
                    ok = (values >= similarity) & (values - scores[ORDINARY] >= margin)
                    if ok.any() and not lexicon.harmless(units[int(np.argmax(np.where(ok, values, -1)))]):
                        labels.append(label)
                found.append(labels)
            result = score(items, found)
            if result["false_flag_rate"] <= allowed + 1e-9 and (best is None or result["right_reason_rate"] > best[0]):
                best = (result["right_reason_rate"], float(similarity), float(margin))
    if best is None:
        raise SystemExit("no thresholds found")
    return round(best[1], 2), round(best[2], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=Path("eval/suites/routing.jsonl"))
    parser.add_argument("--prompts", type=Path, default=Path("prompts"))
    parser.add_argument("--layers", default="lexicon,examples")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--max-added-false-flags", type=float, default=0.0,
                        help="false flags the example layer may add to the lexicon's, on the calibration set")
    parser.add_argument("--extra-negatives", type=Path, default=Path("eval/suites/kb.jsonl"),
                        help="a suite whose answerable questions join the dev half as ordinary ones (calibration)")
    parser.add_argument("--json-out", type=Path, default=OUT / "escalation.json")
    args = parser.parse_args()

    routing = load_routing(Settings(_env_file=None).routing)  # type: ignore[call-arg]
    # A suite without reason labels (kb.jsonl): its answerable questions are the ordinary ones.
    items = [i for i in load_suite(args.suite) if "reason" in i.model_fields_set or not i.must_escalate]
    lexicon = Lexicon.load(args.prompts / "routing_lexicon.yaml")
    encoder = MultilingualEncoder()
    similarity, margin = routing.example_min_similarity, routing.example_margin
    halves = {"dev (even)": items[0::2], "test (odd)": items[1::2], "all": items}
    if args.calibrate:
        probe = ExampleClassifier(load_examples(args.prompts / "routing_examples.yaml"), encoder.encode, 1.0, 1.0)
        extra = [i.model_copy(update={"reason": None}) for i in load_suite(args.extra_negatives)
                 if not i.must_escalate and i.role == "customer"] if args.extra_negatives else []
        similarity, margin = calibrate(probe, lexicon, halves["dev (even)"] + extra, args.max_added_false_flags)
        print(f"chosen on the dev half: example_min_similarity={similarity} example_margin={margin}")
    examples = None
    if "examples" in args.layers:
        examples = ExampleClassifier(load_examples(args.prompts / "routing_examples.yaml"), encoder.encode,
                                     similarity, margin)
        examples.classify(["warm up"])
    detector = EscalationDetector(lexicon if "lexicon" in args.layers else Lexicon({}), examples,
                                  routing.repeat_similarity)
    triggers, times = detect_all(detector, items)
    found = [found_labels(t) for t in triggers]
    index = {item.id: n for n, item in enumerate(items)}
    report: dict[str, Any] = {"layers": args.layers, "example_min_similarity": similarity, "example_margin": margin,
                              "p50_ms": round(statistics.median(times), 1),
                              "p95_ms": round(float(np.percentile(times, 95)), 1),
                              "layers_used": dict(Counter(t.layer for ts in triggers for t in ts))}
    print(f"\n{'half':<12} {'n':>4} {'right reason':>13} {'false flags':>12}")
    for name, part in halves.items():
        result = score(part, [found[index[i.id]] for i in part])
        report[name] = result
        print(f"{name:<12} {result['n']:>4} {result['right_reason_rate']:>13.3f} {result['false_flag_rate']:>12.3f}")
    print(f"\n{'reason':<24} {'recall (all)':>12}")
    for label, value in report["all"]["recall"].items():
        print(f"{label:<24} {value:>12.3f}")
    by_lang: dict[str, list[bool]] = {}
    for item, labels in zip(items, found, strict=True):
        if label_of(item) != "none":
            by_lang.setdefault(item.lang or "?", []).append(label_of(item) in labels)
    print("\nright reason by language: " + ", ".join(f"{k} {sum(v) / len(v):.3f}" for k, v in sorted(by_lang.items())))
    print(f"detection per message: p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms; "
          f"triggers by layer: {report['layers_used']}")
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json_out}", file=sys.stderr)


if __name__ == "__main__":
    main()
