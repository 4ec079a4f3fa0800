"""Upload recognition and cleaning: formats by magic bytes, metadata stripping, refusals, file names."""

from __future__ import annotations

import io
import random
import struct
import time
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from backend.core.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from backend.documents.sanitise import (
    MAX_PIXELS,
    is_suspicious_filename,
    safe_filename,
    sanitise_upload,
)

MAX = 1_000_000
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ORIENTATION = 0x0112
MODEL = 0x0110


def noisy_image(mode: str, size: tuple[int, int]) -> Image.Image:
    rng = random.Random(7)
    bands = len(Image.new(mode, (1, 1)).getbands())
    raw = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * bands))
    return Image.frombytes(mode, size, raw)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MODEL] = "CarnetCam 3000"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif


def jpeg_bytes(image: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **params)
    return out.getvalue()


def png_bytes(image: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **params)
    return out.getvalue()


def png_with_size(width: int, height: int) -> bytes:
    """A real 1×1 PNG whose IHDR claims another size (CRC fixed), with no pixel data to match."""
    data = bytearray(png_bytes(Image.new("RGB", (1, 1))))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def refusal(exc_info) -> tuple[int, str]:
    exc = exc_info.value
    assert exc.errors[0]["field"] == "file"
    return exc.status_code, exc.errors[0]["rule"]


# Accepted formats


def test_pdf_is_kept_as_sent():
    result = sanitise_upload(PDF, "ordonnance.pdf", MAX)
    assert result.media_type == "application/pdf"
    assert result.data == PDF
    assert result.extension == "pdf"
    assert result.safe_filename == "ordonnance.pdf"


def test_jpeg_is_reencoded_without_exif_gps_xmp_or_comment():
    original = jpeg_bytes(
        noisy_image("RGB", (64, 32)),
        exif=exif_with_gps(),
        xmp=b'<x:xmpmeta><exif:GPSLatitude>48,51.4N</exif:GPSLatitude></x:xmpmeta>',
        comment=b"secret comment",
    )
    # The sample really carries what must disappear.
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(GPS_IFD)[1] == "N"
        assert "xmp" in before.info and "comment" in before.info

    result = sanitise_upload(original, "IMG_2041.JPG", MAX)

    assert result.media_type == "image/jpeg"
    assert result.extension == "jpg"
    assert result.safe_filename == "IMG_2041.jpg"
    assert result.data.startswith(b"\xff\xd8\xff")
    for marker in (b"Exif\x00\x00", b"CarnetCam", b"GPSLatitude", b"secret comment", b"http://ns.adobe.com/xap"):
        assert marker not in result.data
    with Image.open(io.BytesIO(result.data)) as after:
        assert after.format == "JPEG"
        assert after.size == (64, 32)
        assert len(after.getexif()) == 0
        assert not {"exif", "xmp", "comment"} & set(after.info)


def test_jpeg_orientation_is_applied_before_the_exif_goes():
    # Orientation 6: stored landscape, displayed portrait.
    original = jpeg_bytes(noisy_image("RGB", (60, 20)), exif=exif_with_gps(orientation=6))
    result = sanitise_upload(original, "photo.jpg", MAX)
    with Image.open(io.BytesIO(result.data)) as after:
        assert after.size == (20, 60)
        assert ORIENTATION not in after.getexif()


def test_cmyk_jpeg_becomes_rgb():
    original = jpeg_bytes(Image.new("CMYK", (16, 16), (0, 255, 255, 0)))
    result = sanitise_upload(original, "scan.jpg", MAX)
    with Image.open(io.BytesIO(result.data)) as after:
        assert after.mode == "RGB"
        r, g, b = after.getpixel((8, 8))
        assert r > 200 and g < 60 and b < 60  # still red


def test_png_is_reencoded_losslessly_without_metadata():
    image = noisy_image("RGBA", (24, 24))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "pris au 12 rue des Lilas")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    original = png_bytes(image, pnginfo=info, exif=exif_with_gps())
    assert b"eXIf" in original and b"rue des Lilas" in original

    result = sanitise_upload(original, "capture.png", MAX)

    assert result.media_type == "image/png"
    assert result.extension == "png"
    for marker in (b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"rue des Lilas", b"CarnetCam"):
        assert marker not in result.data
    with Image.open(io.BytesIO(result.data)) as after:
        assert after.mode == "RGBA"
        assert after.tobytes() == image.tobytes()


def test_colour_profile_is_kept_unless_the_mode_changes():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for data in (jpeg_bytes(Image.new("RGB", (8, 8)), icc_profile=icc), png_bytes(Image.new("RGB", (8, 8)), icc_profile=icc)):
        with Image.open(io.BytesIO(sanitise_upload(data, None, MAX).data)) as after:
            assert after.info.get("icc_profile") == icc
    cmyk = jpeg_bytes(Image.new("CMYK", (8, 8)), icc_profile=icc)
    with Image.open(io.BytesIO(sanitise_upload(cmyk, None, MAX).data)) as after:
        assert after.mode == "RGB"
        assert "icc_profile" not in after.info


def test_palette_png_keeps_its_transparency():
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 0)
    result = sanitise_upload(png_bytes(image, transparency=0), "icone.png", MAX)
    with Image.open(io.BytesIO(result.data)) as after:
        rgba = after.convert("RGBA")
        assert rgba.getpixel((0, 0))[3] == 0
        assert rgba.getpixel((1, 1)) == (255, 0, 0, 255)


def test_utf8_text_is_accepted():
    text = "Compte rendu : glycémie à jeun 0,92 g/L\r\n\tRAS.\f\n".encode()
    result = sanitise_upload(text, "notes.txt", MAX)
    assert result.media_type == "text/plain"
    assert result.data == text
    assert result.safe_filename == "notes.txt"


def test_text_with_bom_is_normalised_to_utf8():
    assert sanitise_upload(b"\xef\xbb\xbfglyc\xc3\xa9mie", None, MAX).data == "glycémie".encode()
    utf16 = "glycémie\n".encode("utf-16")  # with its BOM
    result = sanitise_upload(utf16, "notes.txt", MAX)
    assert result.media_type == "text/plain"
    assert result.data == "glycémie\n".encode()


# Refusals


def test_empty_file_is_refused():
    with pytest.raises(Unprocessable) as exc:
        sanitise_upload(b"", "vide.pdf", MAX)
    assert refusal(exc) == (422, "empty")


def test_oversized_file_is_refused_naming_the_limit():
    with pytest.raises(PayloadTooLarge) as exc:
        sanitise_upload(b"a" * (MAX + 1), "gros.txt", MAX)
    assert refusal(exc) == (413, "too-large")
    assert "1 Mo" in exc.value.detail
    assert "1 MB" in exc.value.detail_en
    assert sanitise_upload(b"a" * MAX, "juste.txt", MAX).media_type == "text/plain"


def test_limit_with_decimals_is_written_the_french_way():
    with pytest.raises(PayloadTooLarge) as exc:
        sanitise_upload(b"a" * 2_600_000, None, 2_500_000)
    assert "2,5 Mo" in exc.value.detail
    assert "2.5 MB" in exc.value.detail_en


DISGUISED = {
    "windows executable": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48,
    "text-only MZ header": b"MZ this looks like text but is an executable header",
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20,
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    "latin-1 text": "glycémie".encode("latin-1"),
    "nul byte": b"hello\x00world",
    "escape sequence": b"hello \x1b[31mred\x1b[0m",
}


@pytest.mark.parametrize("name", DISGUISED)
def test_other_formats_are_refused_whatever_their_name(name):
    with pytest.raises(UnsupportedMediaType) as exc:
        sanitise_upload(DISGUISED[name], "report.pdf", MAX)
    assert refusal(exc) == (415, "unsupported-format")
    assert "le contenu ne correspond à aucun format accepté" in exc.value.detail
    assert "PDF, JPEG, PNG" in exc.value.detail
    assert "PDF, JPEG, PNG" in exc.value.detail_en


MARKUP = [
    b"<!DOCTYPE html><html><body>hi</body></html>",
    b"\n   <HTML>\n<script>alert(1)</script>",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b'<?xml version="1.0"?><note/>',
    b"Bonjour,\nvoici mes r\xc3\xa9sultats.\n<script src=//evil.example/x.js></script>",
    "\ufeff<html>".encode(),
]


@pytest.mark.parametrize("data", MARKUP)
def test_markup_text_is_refused(data):
    with pytest.raises(UnsupportedMediaType) as exc:
        sanitise_upload(data, "notes.txt", MAX)
    assert refusal(exc) == (415, "unsupported-format")
    assert "HTML" in exc.value.detail


def test_text_merely_mentioning_angle_brackets_is_accepted():
    data = b"Tension < 14/9, glyc\xc3\xa9mie <1 g/L, <htmlx> n'est pas une balise"
    assert sanitise_upload(data, None, MAX).media_type == "text/plain"


def test_truncated_pdf_is_refused():
    with pytest.raises(Unprocessable) as exc:
        sanitise_upload(PDF[: PDF.index(b"%%EOF")], "ordonnance.pdf", MAX)
    assert refusal(exc) == (422, "corrupt")


def test_truncated_jpeg_is_refused():
    whole = jpeg_bytes(noisy_image("RGB", (120, 120)))
    with pytest.raises(Unprocessable) as exc:
        sanitise_upload(whole[: len(whole) // 2], "photo.jpg", MAX)
    assert refusal(exc) == (422, "corrupt")


def test_corrupt_png_is_refused():
    with pytest.raises(Unprocessable) as exc:
        sanitise_upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image.png", MAX)
    assert refusal(exc) == (422, "corrupt")


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (8_000, 6_000)])
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_png_pixel_bomb_is_refused_from_its_header(width, height):
    # 10 gigapixels trips Pillow's guard; 48 megapixels only ours. The file holds
    # one pixel of data: decoding would fail as "corrupt", so "too-many-pixels"
    # proves the refusal came from the header, before any decoding.
    bomb = png_with_size(width, height)
    assert width * height > MAX_PIXELS
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge) as exc:
        sanitise_upload(bomb, "bombe.png", MAX)
    assert time.perf_counter() - started < 0.5
    assert refusal(exc) == (413, "too-many-pixels")


def test_jpeg_pixel_bomb_is_refused_from_its_header():
    data = bytearray(jpeg_bytes(Image.new("RGB", (8, 8))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)
    with pytest.raises(PayloadTooLarge) as exc:
        sanitise_upload(bytes(data), "bombe.jpg", MAX)
    assert refusal(exc) == (413, "too-many-pixels")


def test_image_just_under_the_pixel_cap_is_not_refused_by_the_header_check():
    # Same trick, under the cap: it reaches decoding, which fails on the missing data.
    with pytest.raises(Unprocessable) as exc:
        sanitise_upload(png_with_size(1_000, 1_000), "image.png", MAX)
    assert refusal(exc) == (422, "corrupt")


def test_pillow_guard_is_no_laxer_than_ours():
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS <= MAX_PIXELS


# File names


@pytest.mark.parametrize(
    "name, media, expected",
    [
        ("../../etc/passwd", b"root:x:0:0\n", "passwd.txt"),
        ("rapport\x00.pdf", PDF, "rapport.pdf"),
        ("\u202egpj.exe", PDF, "gpj.pdf"),
        ("C:\\Users\\camille\\Mes documents\\ordonnance.pdf", PDF, "ordonnance.pdf"),
        ("Compte rendu  d'échographie (2024).PDF", PDF, "Compte rendu d échographie 2024.pdf"),
        ("re\u0301sume\u0301 me\u0301dical.txt", b"ok", "résumé médical.txt"),  # decomposed accents
        ("photo.png", PDF, "photo.pdf"),  # the extension follows the content
        ("bilan.2024", PDF, "bilan.2024.pdf"),
        ("rapport\n\tfinal.pdf", PDF, "rapport final.pdf"),
        ("-rf .pdf", PDF, "rf.pdf"),
        ("..hidden..name.pdf", PDF, "hidden.name.pdf"),
        (None, PDF, "document.pdf"),
        ("", b"ok", "document.txt"),
        ("....", b"ok", "document.txt"),
        ("\u200b\u202e.pdf", PDF, "document.pdf"),
    ],
)
def test_safe_filename(name, media, expected):
    assert sanitise_upload(media, name, MAX).safe_filename == expected


def test_extension_follows_the_detected_image_format():
    jpeg = jpeg_bytes(Image.new("RGB", (4, 4)))
    assert sanitise_upload(jpeg, "photo.jpeg", MAX).safe_filename == "photo.jpg"
    assert sanitise_upload(jpeg, "photo.png", MAX).safe_filename == "photo.jpg"
    assert sanitise_upload(png_bytes(Image.new("RGB", (4, 4))), "photo.jpg", MAX).safe_filename == "photo.png"


def test_long_names_are_cut_to_100_characters_keeping_the_extension():
    name = safe_filename("é" * 300 + ".pdf", "pdf")
    assert len(name) == 100
    assert name == "é" * 96 + ".pdf"
    assert len(safe_filename("a" * 98 + " b.pdf", "pdf")) <= 100
    assert not safe_filename("a" * 95 + "    bcdef.pdf", "pdf").endswith(" .pdf")


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "rapport\x00.pdf", "\u202egpj.exe", "a/b.pdf", "a\\b.pdf", "..", "ligne\nbrisée.pdf",
     "zero\u200bwidth.pdf"],
)
def test_suspicious_filenames(name):
    assert is_suspicious_filename(name)


@pytest.mark.parametrize(
    "name", ["ordonnance.pdf", "Compte rendu d'échographie (2024).PDF", "IMG_2041.JPG", "bilan..2024.txt"]
)
def test_ordinary_filenames_are_not_suspicious(name):
    assert not is_suspicious_filename(name)
