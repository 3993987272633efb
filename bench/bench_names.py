"""Name search benchmark (not a test): recall across scripts and spellings, false claims
on hard negatives, key generation speed and search time.

    .venv/bin/python bench/bench_names.py [--identities 2000] [--per-kind 100] [--seed 17]

Generates the evaluation set (bench/names_eval.py: invented identities with realistic
name frequencies, queries in Cyrillic and five romanisation systems, casual spelling, one
typo, swapped order, no patronymic, equivalent given names, hard negatives), registers every
identity through ``person_create`` on a throwaway SQLite data folder with the real key agent,
then runs every query through the search the API and the people list use
(``people.selectors.people_ranked``) as a coordinator. A result counts as right when it is
the target or an identity the query cannot tell from it (the same Cyrillic words).

Writes bench/results/names.json: recall@1, recall@5 and MRR by kind of variant, the share
of hard negatives whose first result is claimed ``likely`` or ``exact``, the levels given
to right first results, key generation speed (cold caches and realistic repeats) and the
search's time per query (median, p95). Numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.mkdtemp(prefix="hvbench-names"))
os.environ["HAVEN_DATA_DIR"] = str(DATA)
os.environ.setdefault("HAVEN_SECRET_KEY", "bench-secret-key-0123456789abcdefghijklmnop")
os.environ["DJANGO_SETTINGS_MODULE"] = "haven.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bench.names_eval import generate  # noqa: E402
from haven.accounts.models import Organization, User  # noqa: E402
from haven.keyring import services as keyring  # noqa: E402
from haven.people import names, selectors  # noqa: E402
from haven.people import services as people  # noqa: E402
from haven.people.names import keys, linkage, normalise  # noqa: E402

TARGETS = {"duplicate_f1": 0.92, "recall_at_5_overall": 0.98, "recall_at_5_each_kind": 0.95,
           "recall_at_1_overall": 0.90, "false_top1_on_negatives": 0.02,
           "key_generation_names_per_second": 50_000, "search_p95_ms": 100}


def clear_caches() -> None:
    for fn in (normalise.normalise_word, keys.careful_key, keys.skeletons, keys.token_keys,
               keys.equivalents_table):
        fn.cache_clear()


def key_speed(texts: list[str]) -> dict[str, float]:
    """Names per second: every name once with empty caches (the first names of a rebuild),
    and the same names again (a registry, where most words repeat)."""
    clear_caches()
    keys.equivalents_table()
    started = time.perf_counter()
    for text in texts:
        names.name_keys(text)
    cold = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(3):
        for text in texts:
            names.name_keys(text)
    warm = 3 * len(texts) / (time.perf_counter() - started)
    return {"names": len(texts), "cold_per_second": round(cold), "warm_per_second": round(warm)}


def dedup(data: dict[str, Any]) -> dict[str, Any]:
    """Duplicate detection on the identities and their second records, in memory: blocking
    by name keys, Fellegi–Sunter weights, pairs at or above the threshold predicted."""
    records: list[linkage.Record] = []
    owner: list[int] = []
    for ident in data["identities"]:
        records.append(linkage.Record((ident["legal_name"],), ident["dob"], ident["phone"],
                                      ident["place"]))
        owner.append(ident["id"])
    partial: set[tuple[int, int]] = set()
    truth: set[tuple[int, int]] = set()
    for dup in data["duplicates"]:
        records.append(linkage.Record((dup["name"],), dup["dob"], dup["phone"], dup["place"]))
        pair = (dup["of"], len(records) - 1)
        truth.add(pair)
        if dup["partial_dob"]:
            partial.add(pair)
        owner.append(-1)
    started = time.perf_counter()
    frequency = linkage.NameFrequency.of(records)
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for key in linkage.blocking_keys(record):
            blocks[key].append(i)
    candidates: set[tuple[int, int]] = set()
    for members in blocks.values():
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                candidates.add((min(i, j), max(i, j)))
    predicted = {pair for pair in candidates
                 if linkage.weigh(records[pair[0]], records[pair[1]], frequency)
                 .likely_duplicate}
    seconds = time.perf_counter() - started

    def scores(true: set[tuple[int, int]], found: set[tuple[int, int]]) -> dict[str, float]:
        hit = len(true & found)
        precision = hit / len(found) if found else 1.0
        recall = hit / len(true) if true else 1.0
        f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4),
                "f1": round(f1, 4)}

    # Among pairs whose second record has a partial or wrong date: precision counts the
    # predicted pairs that involve such a record.
    partial_records = {j for _, j in partial}
    found_partial = {p for p in predicted if p[1] in partial_records}
    return {"records": len(records), "true_pairs": len(truth),
            "candidate_pairs": len(candidates),
            "blocking_recall": round(len(truth & candidates) / len(truth), 4),
            **scores(truth, predicted),
            "partial_dob": {"true_pairs": len(partial), **scores(partial, found_partial)},
            "threshold": linkage.THRESHOLD, "sweep_seconds": round(seconds, 2),
            "pairs_weighed_per_second": round(len(candidates) / seconds)}


def evaluate(user: User, data: dict[str, Any], pk_to_id: dict[Any, int]) -> dict[str, Any]:
    names_of = {i["id"]: i["legal_name"] for i in data["identities"]}
    kinds: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    times: list[float] = []
    misses: list[dict[str, Any]] = []
    for q in data["queries"]:
        started = time.perf_counter()
        ranked = selectors.people_ranked(actor=user, q=q["text"], limit=50)
        times.append(time.perf_counter() - started)
        got = [(pk_to_id[r.person.pk], r.match.level.label if r.match.level else None)
               for r in ranked]
        stats = kinds[q["kind"]]
        if q["target"] is None:
            claimed = bool(got) and got[0][1] in {"exact", "likely"}
            stats["false_top1"].append(float(claimed))
            if claimed:
                misses.append({"kind": q["kind"], "query": q["text"], "claimed": got[0][1],
                               "first": names_of[got[0][0]], "why": ranked[0].match.why})
            stats["any_result"].append(float(bool(got)))
            continue
        accept = set(q["accept"])
        rank = next((i + 1 for i, (pid, _) in enumerate(got) if pid in accept), None)
        stats["r1"].append(float(rank == 1))
        stats["r5"].append(float(rank is not None and rank <= 5))
        stats["rr"].append(1 / rank if rank else 0.0)
        if rank == 1:
            stats["level_" + str(got[0][1])].append(1.0)
        if rank is None or rank > 5:
            misses.append({"kind": q["kind"], "query": q["text"], "rank": rank,
                           "target": names_of[q["target"]]})
    return {"kinds": kinds, "times": times, "misses": misses}


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    by_kind: dict[str, Any] = {}
    positives: dict[str, list[float]] = defaultdict(list)
    negatives: list[float] = []
    for kind, stats in sorted(result["kinds"].items()):
        if "false_top1" in stats:
            negatives += stats["false_top1"]
            by_kind[kind] = {"queries": len(stats["false_top1"]),
                             "false_top1_likely_or_exact": round(
                                 statistics.mean(stats["false_top1"]), 4),
                             "any_result": round(statistics.mean(stats["any_result"]), 4)}
            continue
        n = len(stats["r1"])
        levels = {k[6:]: int(sum(v)) for k, v in stats.items() if k.startswith("level_")}
        by_kind[kind] = {"queries": n, "recall_at_1": round(statistics.mean(stats["r1"]), 4),
                         "recall_at_5": round(statistics.mean(stats["r5"]), 4),
                         "mrr": round(statistics.mean(stats["rr"]), 4),
                         "levels_of_right_first_results": levels}
        for key in ("r1", "r5", "rr"):
            positives[key] += stats[key]
    times = sorted(result["times"])
    return {
        "overall": {"queries": len(positives["r1"]),
                    "recall_at_1": round(statistics.mean(positives["r1"]), 4),
                    "recall_at_5": round(statistics.mean(positives["r5"]), 4),
                    "mrr": round(statistics.mean(positives["rr"]), 4),
                    "negatives": len(negatives),
                    "false_top1_on_negatives": round(statistics.mean(negatives), 4)},
        "by_kind": by_kind,
        "search_ms": {"median": round(statistics.median(times) * 1000, 1),
                      "p95": round(times[int(0.95 * (len(times) - 1))] * 1000, 1),
                      "max": round(times[-1] * 1000, 1)},
        "misses_and_false_claims": result["misses"][:60],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--identities", type=int, default=2000)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--duplicates", type=int, default=400)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "names.json"))
    args = parser.parse_args()
    data = generate(args.identities, args.per_kind, args.seed, args.duplicates)
    duplicates = dedup(data)
    print(json.dumps(duplicates, indent=1))
    call_command("migrate", verbosity=0)
    org = Organization.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench", "x" * 20, organization=org, role="coordinator")
    shares = keyring.keys_init(actor=None, shares=3, threshold=2)
    try:
        for share in shares[:2]:
            keyring.unseal_submit_share(actor=None, share=share)
        started = time.perf_counter()
        pk_to_id = {}
        for ident in data["identities"]:
            person = people.person_create(actor=user, legal_name=ident["legal_name"],
                                          phone=ident["phone"])
            pk_to_id[person.pk] = ident["id"]
        created = time.perf_counter() - started
        speed = key_speed([i["legal_name"] for i in data["identities"]]
                          + [q["text"] for q in data["queries"]])
        summary = summarise(evaluate(user, data, pk_to_id))
    finally:
        keyring.seal(actor=None)
        shutil.rmtree(DATA, ignore_errors=True)
    overall = summary["overall"]
    worst = min(v["recall_at_5"] for v in summary["by_kind"].values() if "recall_at_5" in v)
    out = {
        "bench": "names", "machine_load": os.getloadavg(),
        "set": {"identities": args.identities, "per_kind": args.per_kind, "seed": args.seed,
                "storage": "SQLite, real key agent"},
        "registration_seconds": round(created, 1),
        "key_generation": speed, **summary, "duplicates": duplicates, "targets": TARGETS,
        "headline": [
            {"figure": "search recall@5 (overall)", "value": overall["recall_at_5"],
             "unit": "", "target": ">= 0.98"},
            {"figure": "search recall@5 (worst kind)", "value": worst, "unit": "",
             "target": ">= 0.95"},
            {"figure": "search recall@1 (overall)", "value": overall["recall_at_1"],
             "unit": "", "target": ">= 0.90"},
            {"figure": "likely/exact first result on hard negatives",
             "value": overall["false_top1_on_negatives"], "unit": "", "target": "<= 0.02"},
            {"figure": "key generation (cold caches)",
             "value": speed["cold_per_second"], "unit": "names/s", "target": ">= 50000"},
            {"figure": "key generation (repeated names)",
             "value": speed["warm_per_second"], "unit": "names/s", "target": ">= 50000"},
            {"figure": "duplicate F1 (all)", "value": duplicates["f1"], "unit": "",
             "target": ">= 0.92"},
            {"figure": "duplicate F1 (partial or wrong date of birth)",
             "value": duplicates["partial_dob"]["f1"], "unit": "", "target": ">= 0.92"},
            {"figure": "duplicate blocking recall", "value": duplicates["blocking_recall"],
             "unit": "", "target": ""},
            {"figure": f"search p95 ({args.identities} people, SQLite)",
             "value": summary["search_ms"]["p95"], "unit": "ms", "target": "< 100"},
        ],
    }
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n",
                              encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("overall", "search_ms", "key_generation")},
                     indent=1))


if __name__ == "__main__":
    main()
