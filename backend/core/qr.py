"""QR codes rendered as SVG ``data:`` URLs (presentation tokens, access codes, TOTP enrolment)."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg


def svg_qr(data: str) -> str:
    """An SVG QR code as a ``data:`` URL (no inline script, fits a strict CSP)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
