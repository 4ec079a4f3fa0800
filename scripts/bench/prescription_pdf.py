"""Benchmark: the e-prescription's printable copy (PDF) against a bare fpdf2 floor, in the same run.

The copy is a realistic 3-line prescription (prescriber, patient, dosages, a
non-substitutable line, QR code, number, legal mentions), each with a fresh
number as in production. The floor is the least a PDF with that QR code costs:
one fpdf2 page, one line of text, the same QR code (error correction Q) drawn
as filled rectangles. Both run single-threaded in this process; the figures
are PDFs per second of CPU time, and the ratio copy/floor.

``pdf_rate(seconds)`` is the render loop alone, for the end-to-end benchmark.

Usage: .venv/bin/python scripts/bench/prescription_pdf.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import qrcode
from fpdf import FPDF
from fpdf.enums import RenderStyle
from qrcode.constants import ERROR_CORRECT_Q

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.prescriptions import number, pdf  # noqa: E402


def sample(prescription_number: str) -> dict:
    """A realistic 3-line prescription (the shape of ``pdf.render``)."""
    lines = [
        ("DOLIPRANE 1000 mg, comprimé", "60234100",
         {"dose_value": 1, "dose_unit": "{tbl}", "frequency": 3, "period": 1, "period_unit": "d",
          "route": "oral", "duration_days": 5, "as_needed": True, "text": "Espacer les prises de 6 heures."},
         2, 0, None),
        ("LEVOTHYROX 75 microgrammes, comprimé sécable", "62080626",
         {"dose_value": 1, "dose_unit": "{tbl}", "frequency": 1, "period_unit": "d", "route": "oral",
          "duration_days": 30, "text": "Le matin à jeun, 30 minutes avant le petit-déjeuner."},
         1, 2, "MTE"),
        ("AMOXICILLINE BIOGARAN 500 mg, gélule", "69118175",
         {"dose_value": 2, "dose_unit": "{caps}", "frequency": 2, "period_unit": "d", "route": "oral",
          "duration_days": 6},
         2, 0, None),
    ]
    return {
        "number": prescription_number,
        "created_at": date(2026, 3, 14),
        "prescriber": {"first_name": "Alice", "last_name": "MÉDECIN", "rpps": "10000000017",
                       "profession": "Médecin", "specialty": "Médecine générale",
                       "structure": {"name": "Cabinet médical du Parc", "address": "12 rue des Tilleuls",
                                     "postcode": "69003", "commune": "Lyon"}},
        "patient": {"first_name": "Camille", "last_name": "INVENTÉE", "birth_date": date(1984, 5, 12),
                    "weight_kg": 62.5},
        "lines": [{"label": label, "cis": cis, "dosage": dosage, "dosage_text": pdf.dosage_text(dosage),
                   "quantity": quantity, "quantity_unit": "boîte", "renewals": renewals,
                   "non_substitutable": reason is not None, "non_substitution_reason": reason}
                  for label, cis, dosage, quantity, renewals, reason in lines],
        "consent_dispensing_visible": True,
    }


def render_copy() -> bytes:
    return pdf.render(sample(number.new_number()))


def render_floor() -> bytes:
    """One page, one line of text and the QR code of a fresh number: what any such PDF costs."""
    value = number.new_number()
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(value)
    code.make(fit=True)
    doc = FPDF(unit="mm", format="A4")
    doc.add_page()
    doc.set_font("helvetica", "", 10)
    doc.text(15, 20, f"Ordonnance {value}")
    matrix = code.get_matrix()
    module = 30 / len(matrix)
    for r, row in enumerate(matrix):
        start = None
        for c, dark in enumerate([*row, False]):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                doc.rect(165 + start * module, 15 + r * module, (c - start) * module, module,
                         style=RenderStyle.F)
                start = None
    return bytes(doc.output())


def _rate(render: Callable[[], bytes], seconds: float) -> float:
    """Renders per second of this process's CPU time, over ``seconds`` of wall-clock time.

    Rendering is single-threaded and CPU-bound: counting CPU time keeps the
    figure steady when other work shares the machine.
    """
    for _ in range(5):
        render()
    done, cpu = 0, time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        render()
        done += 1
    return done / (time.process_time() - cpu)


def pdf_rate(seconds: float) -> float:
    """Printable copies of a 3-line prescription rendered per second of CPU time (one thread)."""
    return _rate(render_copy, seconds)


def floor_rate(seconds: float) -> float:
    """The floor: one-line fpdf2 documents with the same QR code, per second of CPU time (one thread)."""
    return _rate(render_floor, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    size = len(render_copy())
    copy = pdf_rate(args.seconds)
    floor = floor_rate(args.seconds)
    print(f"prescription copy, 3 lines: {copy:.0f} PDFs/s ({1000 / copy:.1f} ms each, {size / 1024:.1f} KB)")
    print(f"floor (fpdf2, one line + the same QR code): {floor:.0f} PDFs/s ({1000 / floor:.1f} ms each)")
    print(f"ratio copy/floor: {copy / floor:.2f}")


if __name__ == "__main__":
    main()
