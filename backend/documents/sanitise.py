"""Recognise uploads by their content and clean them before they are stored.

The format is decided by the bytes only, never by the file name or the declared
content type. PDFs are kept as sent (checked, not rendered), images are decoded
and re-encoded without their metadata (EXIF, GPS position, XMP, comments), and
text is normalised to UTF-8. Anything else is refused.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import struct
import unicodedata

import msgspec
from PIL import Image, ImageOps

from backend.core.errors import CarnetError, PayloadTooLarge, Unprocessable, UnsupportedMediaType

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TEXT = "text/plain"
ACCEPTED_TYPES = (PDF, JPEG, PNG, TEXT)
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", TEXT: "txt"}

MAX_PIXELS = 40_000_000  # width × height, checked from the header before decoding
JPEG_QUALITY = 90
PDF_EOF_WINDOW = 1024  # readers look for %%EOF in the last kilobyte
MARKUP_WINDOW = 1024  # how far into a text file markup is looked for
MAX_FILENAME_CHARS = 100
DEFAULT_STEM = "document"

# Pillow's own guard warns above MAX_IMAGE_PIXELS and fails above twice that;
# never let it be laxer than ours (the explicit check below is the real limit).
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
# Formats that are not plain text but could otherwise pass for it.
_BINARY_SIGNATURES = (
    b"MZ",  # Windows executable
    b"\x7fELF",
    b"PK\x03\x04",  # ZIP, Office documents, JAR
    b"PK\x05\x06",
    b"GIF87a",
    b"GIF89a",
    b"%!PS",  # PostScript programs
    b"{\\rtf",
    b"\xd0\xcf\x11\xe0",  # OLE (old Office)
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"\xca\xfe\xba\xbe",  # Mach-O, Java class
    b"\xcf\xfa\xed\xfe",
)
# C0/C1 control characters, except tab, line feed, form feed and carriage return.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Markup a browser could render (stored XSS): HTML, SVG, XML.
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|script|iframe|svg|\?xml)[\s>/]", re.IGNORECASE)
_ALLOWED_PUNCTUATION = frozenset(" -_.")
_DIGITS = frozenset("0123456789")
_SUSPICIOUS_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

ACCEPTED_FR = "PDF, JPEG, PNG ou texte brut"
ACCEPTED_EN = "PDF, JPEG, PNG or plain text"


class Sanitised(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted upload, ready to be stored.

    Attributes:
        media_type: ``application/pdf``, ``image/jpeg``, ``image/png`` or ``text/plain``.
        data: the bytes to store (re-encoded images, UTF-8 text, the PDF as sent).
        extension: the canonical extension, without the dot (``pdf``, ``jpg``, ``png``, ``txt``).
        safe_filename: a displayable file name ending with that extension.
    """

    media_type: str
    data: bytes
    extension: str
    safe_filename: str


def _refusal(cls: type[CarnetError], rule: str, fr: str, en: str) -> CarnetError:
    return cls(fr, detail_en=en, errors=[{"field": "file", "rule": rule, "message": fr, "message_en": en}])


def _unsupported() -> CarnetError:
    return _refusal(
        UnsupportedMediaType,
        "unsupported-format",
        f"Format de fichier non accepté : le contenu ne correspond à aucun format accepté ({ACCEPTED_FR}).",
        f"File format not accepted: the content does not match any accepted format ({ACCEPTED_EN}).",
    )


def _markup_refused() -> CarnetError:
    return _refusal(
        UnsupportedMediaType,
        "unsupported-format",
        f"Format de fichier non accepté : les pages HTML, SVG ou XML sont refusées ({ACCEPTED_FR}).",
        f"File format not accepted: HTML, SVG and XML pages are refused ({ACCEPTED_EN}).",
    )


def _corrupt(kind: str) -> CarnetError:
    return _refusal(
        Unprocessable,
        "corrupt",
        f"Le fichier {kind} est endommagé ou incomplet.",
        f"The {kind} file is damaged or incomplete.",
    )


def _too_many_pixels() -> CarnetError:
    mp = MAX_PIXELS // 1_000_000
    return _refusal(
        PayloadTooLarge,
        "too-many-pixels",
        f"L'image est trop grande : au-delà de {mp} mégapixels (largeur × hauteur).",
        f"The image is too large: over {mp} megapixels (width × height).",
    )


def _megabytes(n: int) -> str:
    return f"{round(n / 1_000_000, 1):g}"


def check_size(data: bytes, max_bytes: int, *, size: int | None = None) -> None:
    """Refuse an empty upload (400, ``empty``) or one over ``max_bytes`` (413, ``too-large``).

    ``size`` gives the length of a body not loaded yet (a spooled file).
    """
    size = len(data) if size is None else size
    if not size:
        raise _refusal(Unprocessable, "empty", "Le fichier est vide.", "The file is empty.")
    if size > max_bytes:
        mb = _megabytes(max_bytes)
        raise _refusal(
            PayloadTooLarge,
            "too-large",
            f"Le fichier dépasse la taille maximale autorisée de {mb.replace('.', ',')} Mo.",
            f"The file exceeds the maximum allowed size of {mb} MB.",
        )


def _decode_text(data: bytes) -> str | None:
    """The text of UTF-8 (or BOM-marked UTF-16) bytes, or None if it is not plain text."""
    codec = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    return None if _FORBIDDEN_CONTROLS.search(text) else text


def detect_media_type(data: bytes) -> str:
    """The media type of an upload, from its bytes only.

    Raises:
        UnsupportedMediaType: 415, ``unsupported-format`` (including HTML/SVG/XML markup).
    """
    for magic, media_type in _SIGNATURES:
        if data.startswith(magic):
            return media_type
    if data.startswith(_BINARY_SIGNATURES):
        raise _unsupported()
    text = _decode_text(data)
    if text is None:
        raise _unsupported()
    if _MARKUP.search(text[:MARKUP_WINDOW]):
        raise _markup_refused()
    return TEXT


def _clean_pdf(data: bytes) -> bytes:
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        raise _corrupt("PDF")
    return data


def _clean_text(data: bytes) -> bytes:
    text = _decode_text(data)
    if text is None:  # detect_media_type already checked; kept for direct callers
        raise _unsupported()
    return text.encode("utf-8")


def _open_image(data: bytes, fmt: str) -> Image.Image:
    """Read the header only (lazy) and refuse pixel bombs before any decoding."""
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels() from exc
    except _IMAGE_ERRORS as exc:
        raise _corrupt(fmt) from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise _too_many_pixels()
    if width < 1 or height < 1:
        image.close()
        raise _corrupt(fmt)
    return image


def _decode_image(image: Image.Image, fmt: str) -> None:
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels() from exc
    except _IMAGE_ERRORS as exc:
        raise _corrupt(fmt) from exc
    # A malformed EXIF block only costs the orientation, not the upload.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)


def _output_mode(image: Image.Image, fmt: str) -> str:
    """The mode to encode in: JPEG takes L or RGB (CMYK, YCbCr... become RGB)."""
    if fmt == "JPEG":
        return image.mode if image.mode in ("L", "RGB") else "RGB"
    if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        return image.mode
    return "RGBA" if "A" in image.getbands() else "RGB"


def _encode_image(image: Image.Image, fmt: str) -> bytes:
    """Re-encode the pixels with nothing but the colour profile and transparency."""
    mode = _output_mode(image, fmt)
    params: dict = {}
    icc = image.info.get("icc_profile")
    if icc and mode == image.mode:  # a converted image no longer matches its profile
        params["icc_profile"] = icc
    if "transparency" in image.info and mode == image.mode:
        params["transparency"] = image.info["transparency"]
    clean = image if mode == image.mode else image.convert(mode)
    clean.info = {}  # EXIF, XMP, comments, text chunks: never copied to the output
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, **params)
    else:
        clean.save(out, "PNG", optimize=True, **params)
    return out.getvalue()


def _clean_image(data: bytes, fmt: str) -> bytes:
    with _open_image(data, fmt) as image:
        _decode_image(image, fmt)
        return _encode_image(image, fmt)


_CLEANERS = {
    PDF: _clean_pdf,
    JPEG: lambda data: _clean_image(data, "JPEG"),
    PNG: lambda data: _clean_image(data, "PNG"),
    TEXT: _clean_text,
}


def is_suspicious_filename(name: str) -> bool:
    """Whether a file name carries control characters or a path.

    True for control and invisible formatting characters (NUL, line breaks, the
    right-to-left override that disguises ``gpj.exe`` as ``exe.jpg``...), path
    separators and ``.``/``..``. :func:`safe_filename` cleans such names anyway;
    this lets the API refuse them with a clear error instead.
    """
    if any(unicodedata.category(ch) in _SUSPICIOUS_CATEGORIES for ch in name):
        return True
    return "/" in name or "\\" in name or name.strip() in (".", "..")


def _filter_chars(name: str) -> str:
    """Keep letters, digits, space, ``-``, ``_``, ``.``; spaces for other visible characters."""
    out = []
    for ch in unicodedata.normalize("NFC", name):
        if ch.isspace():
            out.append(" ")
        elif ch.isalpha() or ch in _DIGITS or ch in _ALLOWED_PUNCTUATION:
            out.append(ch)
        elif unicodedata.category(ch)[0] not in "CM":  # drop controls and stray marks
            out.append(" ")
    text = re.sub(r" {2,}", " ", "".join(out))
    return re.sub(r"\.{2,}", ".", text)


def _drop_extension(name: str) -> str:
    """Drop a final extension-looking suffix (1 to 5 letters or digits, at least one letter)."""
    stem, dot, suffix = name.rpartition(".")
    if dot and 1 <= len(suffix) <= 5 and suffix.isalnum() and not suffix.isdigit():
        return stem
    return name


def safe_filename(name: str | None, extension: str) -> str:
    """A displayable file name, forced to end with ``extension``.

    Directories are stripped (``../../etc/passwd`` gives ``passwd``), control and
    invisible characters removed, other characters outside letters, digits,
    space, ``-``, ``_`` and ``.`` turned into spaces, and the result capped at
    :data:`MAX_FILENAME_CHARS` characters.

    Args:
        name: the name the client sent, if any.
        extension: the extension of the detected format, without the dot.
    """
    base = re.split(r"[/\\]", name or "")[-1]
    stem = _drop_extension(_filter_chars(base).strip())
    stem = stem.lstrip(" .-").rstrip(" .")
    stem = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(" .")
    return f"{stem or DEFAULT_STEM}.{extension}"


def sanitise_upload(data: bytes, filename: str | None, max_bytes: int) -> Sanitised:
    """Recognise an upload by its bytes and clean it.

    Args:
        data: the uploaded bytes.
        filename: the name the client sent, used only to build ``safe_filename``.
        max_bytes: the largest accepted upload.

    Returns:
        The media type, the bytes to store, the extension and a safe file name.

    Raises:
        Unprocessable: 422, rule ``empty`` or ``corrupt`` (truncated PDF, broken image).
        PayloadTooLarge: 413, rule ``too-large`` or ``too-many-pixels``.
        UnsupportedMediaType: 415, rule ``unsupported-format``.
    """
    check_size(data, max_bytes)
    media_type = detect_media_type(data)
    extension = EXTENSIONS[media_type]
    return Sanitised(
        media_type=media_type,
        data=_CLEANERS[media_type](data),
        extension=extension,
        safe_filename=safe_filename(filename, extension),
    )
