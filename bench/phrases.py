"""Precision and recall of the financial-abuse message matcher on the labelled corpus.

Run: .venv/bin/python -m bench.phrases [--misses]
The corpus (tests/data/financial_abuse_corpus.tsv) has a "dev" part the patterns were tuned
on and a "holdout" part written before tuning and not looked at while tuning: the holdout
figures are the honest estimate of how the matcher does on wording it has not seen.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as `python bench/<name>.py`, bench/ comes first on the path, where bench/http.py would hide
# the standard library's `http` (which the Stripe SDK imports): take the folder off the path.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]
_sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))


import csv
import sys
import time
from pathlib import Path

from app.domain.rules.phrases import match_phrases

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "financial_abuse_corpus.tsv"


def load() -> list[dict[str, str]]:
    with CORPUS.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def score(rows: list[dict[str, str]]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for row in rows:
        hit = bool(match_phrases(row["sentence"]))
        concerning = row["label"] == "concerning"
        tp += hit and concerning
        fp += hit and not concerning
        fn += (not hit) and concerning
        tn += (not hit) and not concerning
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"concerning": tp + fn, "innocent": fp + tn, "tp": tp, "fp": fp, "fn": fn,
            "precision": precision, "recall": recall}


def main() -> None:
    rows = load()
    for name, part in (("all", rows), ("dev", [r for r in rows if r["set"] == "dev"]),
                       ("holdout", [r for r in rows if r["set"] == "holdout"])):
        s = score(part)
        print(f"{name:8} concerning={s['concerning']:3} innocent={s['innocent']:3} "
              f"precision={s['precision']:.3f} recall={s['recall']:.3f} "
              f"(true hits {s['tp']}, false alarms {s['fp']}, misses {s['fn']})")
    categories = sorted({r["category"] for r in rows if r["label"] == "concerning"})
    for category in categories:
        part = [r for r in rows if r["label"] == "concerning" and r["category"] == category]
        print(f"  recall {category:14} {score(part)['recall']:.3f} of {len(part)}")
    started = time.perf_counter()
    for _ in range(20):
        for row in rows:
            match_phrases(row["sentence"])
    per = (time.perf_counter() - started) / (20 * len(rows))
    print(f"speed    {per * 1e6:.0f} microseconds a sentence")
    if "--misses" in sys.argv:
        for row in rows:
            hit = match_phrases(row["sentence"])
            if bool(hit) != (row["label"] == "concerning"):
                print(f"{row['set']:7} {row['label']:10} {row['category']:14} {row['sentence']}"
                      f"  -> {hit}")


if __name__ == "__main__":
    main()
