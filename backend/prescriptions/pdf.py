"""The printable copy of an e-prescription (PDF, fpdf2) and the sentence of a structured dosage.

The copy is what the patient carries to the pharmacy: the prescriber, the
patient, the date, the lines, a QR code that encodes exactly the number, the
number in print, and the legal mentions. It uses PDF core fonts (Helvetica,
Courier) with the WinAnsi (Windows-1252) encoding, so nothing is embedded and
nothing is read from disk; characters outside that encoding are replaced
(``→`` becomes ``->``, ``ā`` becomes ``a``). The QR code is drawn as vector
squares, one filled rectangle per run of dark modules: no image to encode.

Input of :func:`render` (``p``)::

    {
      "number": "ABCDEF123456GHIJKL",           # 18 characters, see number.py
      "created_at": date(2026, 3, 14),          # date, datetime or ISO string
      "prescriber": {
        "first_name": "Alice", "last_name": "MÉDECIN", "rpps": "10000000017",
        "profession": "Médecin",                # label
        "specialty": "Médecine générale",       # optional
        "structure": "Cabinet du Parc",         # optional: a name, or {name, address, postcode, commune}
        "address": "1 rue de la Paix", "postcode": "75002", "commune": "Paris",  # optional
      },
      "patient": {
        "first_name": "Camille", "last_name": "INVENTÉE",   # last_name: the birth (or used) name
        "birth_date": date(1984, 5, 12),                    # date or ISO string
        "weight_kg": 62.5,                                  # optional
      },
      "lines": [{
        "label": "DOLIPRANE 1000 mg, comprimé",  # BDPM label, or the INN in free text
        "cis": "60234100",                       # optional
        "dosage_text": "1 comprimé 3 fois par jour, voie orale, pendant 5 jours.",
        #   or "dosage": that text, or a structured dosage dict (rendered with dosage_text())
        "quantity": 1, "quantity_unit": "boîte",
        "renewals": 0,
        "non_substitutable": False, "non_substitution_reason": None,  # "MTE" | "EFG" | "CIF"
      }],
      "consent_dispensing_visible": True,       # the patient lets the prescriber see the dispensing
    }

``prescriber`` may also be ``directory.pro_profile()`` as is (``structure`` a dict,
``structure_name``); extra keys are ignored.

Structured dosage of :func:`dosage_text` (close to FHIR ``Dosage``)::

    {
      "dose_value": 1,            # doseAndRate.doseQuantity.value (int, float or decimal string)
      "dose_unit": "{tbl}",       # UCUM code of rules.json "dose_units", or a word ("comprimé", "mL")
      "frequency": 3,             # timing.repeat.frequency: times per period
      "period": 1,                # timing.repeat.period (default 1)
      "period_unit": "d",         # timing.repeat.periodUnit: h | d | wk | mo (default d)
      "route": "oral",            # route code of rules.json "routes", its EDQM code, or a label
      "duration_days": 5,         # optional: treatment duration
      "as_needed": False,         # optional: asNeededBoolean ("si besoin")
      "text": "Au milieu des repas.",  # optional: free-text instructions (patientInstruction)
    }

Every key is optional; what is missing is left out of the sentence.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import qrcode
from fpdf import FPDF
from fpdf.enums import RenderStyle
from qrcode.constants import ERROR_CORRECT_Q

from backend.prescriptions import reference
from backend.prescriptions.number import grouped

ENCODING = "windows-1252"  # the WinAnsiEncoding fpdf2 declares for the core fonts

# --- text -------------------------------------------------------------------------------

TEXTS = {
    "fr": {
        "title": "Ordonnance",
        "rpps": "RPPS",
        "date": "Le {date}",
        "patient": "Patient : {name}",
        "born": "Né(e) le {date}",
        "weight": "Poids : {kg} kg",
        "quantity": "Quantité : {quantity}",
        "renew_none": "Non renouvelable",
        "renew": "À renouveler {n} fois",
        "non_substitutable": "Non substituable ({reason})",
        "number_label": "N° d'ordonnance",
        "digital": ("Ordonnance numérique n° {number}. Le pharmacien vérifie ce numéro (ou le QR code) "
                    "auprès du service de l'ordonnance numérique avant toute délivrance."),
        "consent_yes": "Le patient accepte que le prescripteur consulte les informations de délivrance "
                       "de cette ordonnance.",
        "consent_no": "Le patient n'accepte pas que le prescripteur consulte les informations de délivrance "
                      "de cette ordonnance.",
        "renewal": ("Première délivrance dans les {months} mois suivant la date de l'ordonnance ; "
                    "renouvellements dans la limite indiquée sur chaque ligne et de {max_months} mois de "
                    "traitement (CSP, art. R.5132-21 et R.5132-22). Substitution par un générique possible "
                    "sauf mention « Non substituable »."),
        "page": "Page {page}/{pages}",
    },
    "en": {
        "title": "Prescription",
        "rpps": "RPPS",
        "date": "On {date}",
        "patient": "Patient: {name}",
        "born": "Born on {date}",
        "weight": "Weight: {kg} kg",
        "quantity": "Quantity: {quantity}",
        "renew_none": "Not renewable",
        "renew": "Renew {n} time(s)",
        "non_substitutable": "Non-substitutable ({reason})",
        "number_label": "Prescription no.",
        "digital": ("Digital prescription no. {number}. The pharmacist checks this number (or the QR code) "
                    "with the digital prescription service before dispensing."),
        "consent_yes": "The patient lets the prescriber see the dispensing information of this prescription.",
        "consent_no": "The patient does not let the prescriber see the dispensing information of this "
                      "prescription.",
        "renewal": ("First dispensing within {months} months of the prescription date; renewals within the "
                    "limit given on each line and {max_months} months of treatment (French public health "
                    "code, R.5132-21 and R.5132-22). A generic may be substituted unless marked "
                    "'Non-substitutable'."),
        "page": "Page {page}/{pages}",
    },
}

_REPLACEMENTS = str.maketrans({
    **{chr(c): " " for c in range(32) if c != 10},  # control characters (tabs, CR, ...) but newline
    "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u200b": "",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
    "\u2264": "<=", "\u2265": ">=", "\u2192": "->", "\u2190": "<-", "\u2248": "~",
    "\u2032": "'", "\u2033": '"', "\u2044": "/",
    # Letters without a decomposition (NFKD leaves them whole).
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0126": "H", "\u0127": "h", "\u0131": "i",
})


def safe(text: Any) -> str:
    """Text the core fonts can print: Windows-1252 kept (é, œ, €, « », –), anything else replaced."""
    text = str(text).translate(_REPLACEMENTS)
    try:
        text.encode(ENCODING)
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text:
        try:
            ch.encode(ENCODING)
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            try:
                base.encode(ENCODING)
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _number(value: Any, lang: str) -> str:
    """``1.0`` → ``"1"``, ``0.5`` → ``"0,5"`` in French, ``"0.5"`` in English."""
    try:
        dec = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return str(value)
    if not dec.is_finite():
        return str(value)
    text = f"{dec.normalize():f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "fr" else text


def _is_plural(value: Any, lang: str) -> bool:
    """French: plural from 2 (« 1,5 comprimé »); English: anything but 1."""
    try:
        dec = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return False
    return dec >= 2 if lang == "fr" else dec != 1


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value or "")


# --- dosage -----------------------------------------------------------------------------


def dosage_text(dosage: dict | None, lang: str = "fr") -> str:
    """A structured dosage as a sentence (see the module docstring for the dict).

    ``{"dose_value": 1, "dose_unit": "{tbl}", "frequency": 3, "period": 1, "period_unit": "d",
    "route": "oral", "duration_days": 5, "text": "Au milieu des repas."}`` gives
    ``"1 comprimé 3 fois par jour, voie orale, pendant 5 jours. Au milieu des repas."``
    (``lang="en"``: ``"1 tablet 3 times a day, oral use, for 5 days. Au milieu des repas."``).
    """
    lang = "en" if lang == "en" else "fr"
    dosage = dosage or {}
    parts: list[str] = []
    head = []
    value, unit = dosage.get("dose_value"), dosage.get("dose_unit")
    if value is not None and value != "":
        head.append(_number(value, lang))
        if unit:
            head.append(_unit_word(str(unit), _is_plural(value, lang), lang))
    elif unit:
        head.append(_unit_word(str(unit), False, lang))
    timing = _timing(dosage, lang)
    if timing:
        head.append(timing)
    if dosage.get("as_needed"):
        head.append("si besoin" if lang == "fr" else "as needed")
    if head:
        parts.append(" ".join(head))
    route = dosage.get("route")
    if route:
        code = reference.route_code(str(route))
        parts.append(reference.routes()[code][lang] if code else str(route))
    days = dosage.get("duration_days")
    if days:
        n = _number(days, lang)
        if lang == "fr":
            parts.append(f"pendant {n} jour{'s' if _is_plural(days, lang) else ''}")
        else:
            parts.append(f"for {n} day{'s' if _is_plural(days, lang) else ''}")
    sentence = ", ".join(parts)
    if sentence:
        first = sentence.split(" ", 1)[0]
        if first.isalpha() and first.islower() and len(first) > 2:  # "toutes les 8 heures" → "Toutes ..."
            sentence = sentence[0].upper() + sentence[1:]
        sentence += "."
    text = " ".join(str(dosage.get("text") or "").split())
    if text:
        sentence = f"{sentence} {text}" if sentence else text
    return sentence


def _unit_word(unit: str, plural: bool, lang: str) -> str:
    code = reference.dose_unit_code(unit)
    if code is None:
        return unit
    entry = reference.dose_units()[code]
    return entry[f"{lang}_plural"] if plural else entry[lang]


def _timing(dosage: dict, lang: str) -> str:
    frequency = dosage.get("frequency")
    if not frequency:
        return ""
    period = dosage.get("period") or 1
    entry = reference.period_units().get(dosage.get("period_unit") or "d")
    if entry is None:
        return ""
    times = _times(frequency, lang)
    if _number(period, lang) == "1":
        return f"{times} {entry[f'{lang}_per']}"
    every = entry[f"{lang}_every"].format(n=_number(period, lang))
    return every if _number(frequency, lang) == "1" else f"{times} {every}"


def _times(frequency: Any, lang: str) -> str:
    n = _number(frequency, lang)
    if lang == "fr":
        return f"{n} fois"
    return {"1": "once", "2": "twice"}.get(n, f"{n} times")


# --- the QR code ------------------------------------------------------------------------


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code of ``data`` as rows of modules (``True`` is dark), without the quiet zone.

    Error correction Q (25 %) for a paper copy that gets folded; the mask is the
    one of lowest penalty (ISO/IEC 18004), chosen by the ``qrcode`` package.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0, box_size=1)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_blocks(matrix: list[list[bool]]) -> list[tuple[int, int, int, int]]:
    """The dark modules as rectangles ``(row, column, rows, columns)``.

    A horizontal run of dark modules is one rectangle, extended downwards while the
    rows below have the same run: fewer drawing operations than one per module.
    """
    blocks, open_runs = [], {}
    for r, row in enumerate([*matrix, []]):
        runs, start = set(), None
        for c, dark in enumerate([*row, False]):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                runs.add((start, c))
                start = None
        for run in [run for run in open_runs if run not in runs]:
            first = open_runs.pop(run)
            blocks.append((first, run[0], r - first, run[1] - run[0]))
        for run in runs:
            open_runs.setdefault(run, r)
    return sorted(blocks)


def _draw_qr(pdf: FPDF, matrix: list[list[bool]], x: float, y: float, size: float) -> None:
    module = size / len(matrix)
    pdf.set_fill_color(0)
    for row, column, rows, columns in qr_blocks(matrix):
        pdf.rect(x + column * module, y + row * module, columns * module, rows * module, style=RenderStyle.F)


# --- the copy ---------------------------------------------------------------------------

_Row = tuple[str, str, float, float]  # text, font style, font size, row height

PAGE_MARGIN = 15.0
QR_SIZE = 30.0
FOOTER_TOP = 38.0  # the footer starts this far above the bottom edge
GREY = 90


class _Copy(FPDF):
    """A4 portrait; the footer repeats the number and the legal mentions on every page.

    Text is placed with ``FPDF.text`` and wrapped here: fpdf2's ``cell`` and
    ``multi_cell`` measure text character by character and cost most of the
    rendering time, while core-font widths are a table lookup.
    """

    mentions: list[str]
    page_label: str

    def footer(self) -> None:
        top = self.h - FOOTER_TOP
        self.set_draw_color(GREY)
        self.line(PAGE_MARGIN, top, self.w - PAGE_MARGIN, top)
        self.set_font("helvetica", "", 7.5)
        self.set_text_color(40)
        y = top + 1.5
        for mention in self.mentions:
            y = _paragraph(self, mention, PAGE_MARGIN, y, self.w - 2 * PAGE_MARGIN, 3.3) + 0.8
        self.set_xy(PAGE_MARGIN, self.h - 11.5)
        # cell(), unlike text(), replaces the {nb} alias with the page count at output.
        self.cell(self.w - 2 * PAGE_MARGIN, 3.3, self.page_label.format(page=self.page_no(), pages="{nb}"),
                  align="R")
        self.set_text_color(0)


def render(p: dict, lang: str = "fr") -> bytes:
    """The printable copy of prescription ``p`` as PDF bytes (see the module docstring for ``p``)."""
    t = TEXTS["en" if lang == "en" else "fr"]
    printed_number = grouped(str(p["number"]))
    validity = reference.validity()

    pdf = _Copy(orientation="P", unit="mm", format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_auto_page_break(False)  # this module places every line and breaks pages itself
    pdf.set_title(f"{t['title']} {printed_number}")
    pdf.set_lang("en-GB" if lang == "en" else "fr-FR")
    pdf.set_creator("Carnet")
    pdf.mentions = [
        safe(t["digital"].format(number=printed_number)),
        safe(t["consent_yes"] if p.get("consent_dispensing_visible") else t["consent_no"]),
        safe(t["renewal"].format(months=validity["first_dispensing_months"],
                                 max_months=validity["max_treatment_months"])),
    ]
    pdf.page_label = t["page"]
    pdf.add_page()
    width = pdf.w - 2 * PAGE_MARGIN
    bottom = pdf.h - FOOTER_TOP - 3

    # The QR code (exactly the number) above the number in print, top right.
    pdf.set_font("courier", "B", 9.5)
    centre = pdf.w - PAGE_MARGIN - max(QR_SIZE, _width(pdf, printed_number)) / 2
    qr_x = centre - QR_SIZE / 2
    _draw_qr(pdf, qr_matrix(str(p["number"])), qr_x, PAGE_MARGIN, QR_SIZE)
    pdf.set_font("helvetica", "", 7)
    label = safe(t["number_label"])
    _text(pdf, label, centre - _width(pdf, label) / 2, PAGE_MARGIN + QR_SIZE + 1.5, 3)
    pdf.set_font("courier", "B", 9.5)
    _text(pdf, printed_number, centre - _width(pdf, printed_number) / 2, PAGE_MARGIN + QR_SIZE + 4.5, 4.5)

    # The prescriber, top left.
    y = PAGE_MARGIN
    for text, style, size in _prescriber_lines(p.get("prescriber") or {}, t):
        pdf.set_font("helvetica", style, size)
        y = _paragraph(pdf, safe(text), PAGE_MARGIN, y, qr_x - PAGE_MARGIN - 12, size * 0.45)

    # The date, then the patient.
    y = max(y, PAGE_MARGIN + QR_SIZE + 10) + 3
    pdf.set_font("helvetica", "", 10)
    dated = safe(t["date"].format(date=_day(p.get("created_at"))))
    _text(pdf, dated, pdf.w - PAGE_MARGIN - _width(pdf, dated), y, 5)
    y += 6
    patient = p.get("patient") or {}
    name = " ".join(str(part) for part in (patient.get("first_name"), patient.get("last_name")) if part)
    pdf.set_font("helvetica", "B", 11)
    y = _paragraph(pdf, safe(t["patient"].format(name=name)), PAGE_MARGIN, y, width, 5.5)
    facts = []
    if patient.get("birth_date"):
        facts.append(t["born"].format(date=_day(patient["birth_date"])))
    if patient.get("weight_kg"):
        facts.append(t["weight"].format(kg=_number(patient["weight_kg"], lang)))
    pdf.set_font("helvetica", "", 10)
    if facts:
        y = _paragraph(pdf, safe(" - ".join(facts)), PAGE_MARGIN, y, width, 5)
    y += 3
    pdf.set_draw_color(GREY)
    pdf.line(PAGE_MARGIN, y, pdf.w - PAGE_MARGIN, y)
    y += 5

    # The lines: label, dosage, quantity and renewals, non-substitution.
    indent = 7.0
    for index, line in enumerate(p.get("lines") or [], start=1):
        block = _line_block(pdf, line, t, lang, width - indent)
        height = sum(h for _, _, _, h in block)
        if y + height > bottom and y > PAGE_MARGIN + 1:  # keep a line on one page
            pdf.add_page()
            y = PAGE_MARGIN
        pdf.set_font("helvetica", "B", 10.5)
        _text(pdf, f"{index}.", PAGE_MARGIN, y, 5)
        for text, style, size, h in block:
            if y + h > bottom:
                pdf.add_page()
                y = PAGE_MARGIN
            pdf.set_font("helvetica", style, size)
            _text(pdf, text, PAGE_MARGIN + indent, y, h)
            y += h
        y += 3.5

    return bytes(pdf.output())


def _line_block(pdf: FPDF, line: dict, t: dict, lang: str, width: float) -> list[_Row]:
    """The printed rows of one prescription line: ``(text, font style, font size, row height)``."""
    rows = []

    def add(text: str, style: str, size: float, height: float) -> None:
        pdf.set_font("helvetica", style, size)
        rows.extend((part, style, size, height) for part in _wrap(pdf, safe(text), width))

    add(line.get("label") or "", "B", 10.5, 5)
    dosage = _line_dosage(line, lang)
    if dosage:
        add(dosage, "", 10, 4.8)
    renewals = int(line.get("renewals") or 0)
    supply = [t["quantity"].format(quantity=_quantity(line, lang)),
              t["renew"].format(n=renewals) if renewals else t["renew_none"]]
    add(" - ".join(supply), "", 10, 4.8)
    if line.get("non_substitutable"):
        add(t["non_substitutable"].format(reason=line.get("non_substitution_reason") or "?"), "B", 10, 4.8)
    return rows


def _text(pdf: FPDF, text: str, x: float, y: float, height: float) -> None:
    """``text`` in a row of ``height`` whose top is ``y`` (``FPDF.text`` takes the baseline)."""
    pdf.text(x, y + height / 2 + pdf.font_size * 0.35, text)


def _width(pdf: FPDF, text: str) -> float:
    """The width of ``text`` (already :func:`safe`) in the current core font, in mm."""
    widths = pdf.current_font.cw
    return sum(widths[ch] for ch in text.encode(ENCODING).decode("latin-1")) * pdf.font_size / 1000


def _paragraph(pdf: FPDF, text: str, x: float, y: float, width: float, height: float) -> float:
    """Print ``text`` (already :func:`safe`) wrapped to ``width`` from ``(x, y)``; the next free y."""
    for line in _wrap(pdf, text, width):
        _text(pdf, line, x, y, height)
        y += height
    return y


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` cut into lines no wider than ``width`` at spaces (a longer word is cut)."""
    widths = pdf.current_font.cw  # core font: character -> width in 1/1000 of the font size
    room = width * 1000 / pdf.font_size

    def size(word: str) -> float:
        return sum(widths[ch] for ch in word.encode(ENCODING).decode("latin-1"))

    space = widths[" "]
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current: list[str] = []
        used = 0.0
        for word in paragraph.split():
            wide = size(word)
            if current and used + space + wide > room:
                lines.append(" ".join(current))
                current, used = [], 0.0
            while wide > room and len(word) > 1:  # a word longer than the line
                cut = len(word) - 1
                while cut > 1 and size(word[:cut]) > room:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
                wide = size(word)
            used += (space if current else 0) + wide
            current.append(word)
        if current:
            lines.append(" ".join(current))
    return lines


def _prescriber_lines(pro: dict, t: dict) -> list[tuple[str, str, float]]:
    structure = pro.get("structure")
    place = structure if isinstance(structure, dict) else {}
    structure_name = structure if isinstance(structure, str) else place.get("name")
    structure_name = structure_name or pro.get("structure_name")
    address = pro.get("address") or place.get("address")
    town = " ".join(str(part) for part in (pro.get("postcode") or place.get("postcode"),
                                           pro.get("commune") or place.get("commune")) if part)
    name = " ".join(str(part) for part in (pro.get("first_name"), pro.get("last_name")) if part)
    title = " - ".join(str(part) for part in (pro.get("profession"), pro.get("specialty")) if part)
    lines = [(name, "B", 12.0)]
    if title:
        lines.append((title, "", 10.0))
    if pro.get("rpps"):
        lines.append((f"{t['rpps']} {pro['rpps']}", "", 10.0))
    lines.extend((str(text), "", 9.5) for text in (structure_name, address, town) if text)
    return lines


def _line_dosage(line: dict, lang: str) -> str:
    """The dosage sentence: ``dosage_text`` as given (French), else rendered from a structured ``dosage``."""
    text = line.get("dosage_text")
    dosage = line.get("dosage")
    if isinstance(dosage, dict) and (lang != "fr" or not text):
        return dosage_text(dosage, lang)
    return str(text or (dosage if isinstance(dosage, str) else "") or "")


def _quantity(line: dict, lang: str) -> str:
    quantity = line.get("quantity")
    unit = str(line.get("quantity_unit") or "").strip()
    if quantity is None:
        return unit
    # « 2 boîtes »: single-word units only; « boîte de 30 » or « boîte(s) » stay as written.
    if unit and _is_plural(quantity, lang) and unit.isalpha() and unit[-1] not in "sxz":
        unit += "s"
    return f"{_number(quantity, lang)} {unit}".strip()
