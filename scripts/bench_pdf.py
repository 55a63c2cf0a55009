"""Time the PDF justificatif (services.pdf.render_receipt) on one core.

    .venv/bin/python -m scripts.bench_pdf [--runs 500] [--warmups 20] [--profile PATH]

Renders realistic justificatifs in turn — a certificat d'emploi (with its campaign and derived
figures) and a change of activity rate — in this one process, pinned to one CPU when the
system allows it. After ``--warmups`` untimed renders (the fonts are subset at the first one),
times ``--runs`` renders and prints renders per second, p50 and p95 in ms, against the issue #7
target (100 justificatifs per second per core). ``--profile PATH`` also writes a cProfile of
the timed renders to PATH (read it with ``python -m pstats PATH``). Synthetic data only.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import platform
import statistics
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import metadata

from forms.loader import load_all
from services.pdf import ReceiptData, render_receipt

TARGET_PER_SECOND = 100.0


def samples() -> list[ReceiptData]:
    """Two justificatifs as the service draws them (synthetic worker, ESAT and author)."""
    forms = load_all()
    certificat = ReceiptData(
        receipt_number="ESAT-2026-00000042",
        received_at=datetime(2026, 12, 3, 14, 5),
        form=forms["certificat_emploi"],
        values={
            "remuneration_garantie": Decimal("1234.56"),
            "aide_au_poste": Decimal("700"),
            "part_esat": Decimal("534.56"),
        },
        derived={"part_esat_pourcentage_smic": "29,81\u00a0%", "tranche_abattement": "50\u00a0%"},
        esat_name="ESAT Les Ateliers du Rhône",
        esat_address="ESAT Les Ateliers du Rhône, 12 rue de la Paix, 69001 Lyon",
        esat_siret="12345678900012",
        caf_name="Caf du Rhône",
        worker_name="DUPONT-LÉVÊQUE Zoé Maëlle",
        allocataire="9912345",
        birth_date=date(1990, 5, 17),
        author="Marie Martin",
        verification_code="ABCD-EF01-2345",
        campaign_label="Campagne 2026 — rémunération de novembre 2026",
    )
    change = dataclasses.replace(
        certificat,
        receipt_number="ESAT-2026-00000043",
        form=forms["modification_activite"],
        values={
            "sens": "reduction",
            "date_changement": date(2026, 11, 2),
            "taux_avant": Decimal("100"),
            "nouveau_taux": Decimal("62.5"),
            "certification": True,
        },
        derived={},
        campaign_label=None,
    )
    return [certificat, change]


def pin_to_one_cpu() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"CPU {cpu}"
    except (AttributeError, OSError):  # not Linux: a single-threaded loop uses one core anyway
        return "one thread (not pinned)"


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Débit du justificatif PDF sur un cœur.")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--warmups", type=int, default=20)
    parser.add_argument("--profile", metavar="PATH", help="écrire un profil cProfile des rendus mesurés")
    args = parser.parse_args(argv)

    pinned = pin_to_one_cpu()
    data = samples()
    started = time.perf_counter()
    render_receipt(data[0])
    first_ms = (time.perf_counter() - started) * 1000
    for i in range(args.warmups):
        render_receipt(data[i % len(data)])

    profiler = cProfile.Profile() if args.profile else None
    durations: list[float] = []
    sizes: list[int] = []
    total_start = time.perf_counter()
    for i in range(args.runs):
        item = data[i % len(data)]
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        pdf = render_receipt(item)
        if profiler is not None:
            profiler.disable()
        durations.append((time.perf_counter() - start) * 1000)
        sizes.append(len(pdf))
    total = time.perf_counter() - total_start
    if profiler is not None:
        profiler.dump_stats(args.profile)

    rate = args.runs / total
    print("| Measure | Value |")
    print("|---|---|")
    print(f"| justificatifs rendered | {args.runs} (certificat d'emploi and change of rate, alternately) |")
    print(f"| first render (subsets the fonts) | {first_ms:.0f} ms |")
    print(f"| renders per second, one core | **{rate:.1f}/s** (target ≥ {TARGET_PER_SECOND:.0f}/s) |")
    print(f"| p50 | {statistics.median(durations):.2f} ms |")
    print(f"| p95 | {percentile(durations, 95):.2f} ms |")
    print(f"| max | {max(durations):.2f} ms |")
    print(f"| PDF size | {min(sizes)}–{max(sizes)} bytes |")
    print()
    print(
        f"Pinned to {pinned}; {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}, fpdf2 {metadata.version('fpdf2')}, "
        f"fontTools {metadata.version('fonttools')}; load average "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        + (" (profiled: times include cProfile overhead)" if profiler is not None else "")
    )


if __name__ == "__main__":
    main()
