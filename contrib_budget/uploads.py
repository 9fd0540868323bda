"""Uploaded files are checked by what they contain, not only by their name.

An extension says what a file claims to be; these validators open it and
refuse it unless it is that: an image must decode as an image of its kind, a
PDF must parse, an office document must have its format's structure, a text
file must be text. Nothing that a browser would run (HTML, SVG, script) passes,
whatever its name.
"""

import zipfile
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OOXML_EXTENSIONS = ("docx", "xlsx", "pptx")
OPENDOCUMENT_EXTENSIONS = ("odt", "ods", "odp")
OLE2_EXTENSIONS = ("doc", "xls", "ppt")
# What a browser would render as a page or run, found at the start of a file that claims to be something else.
ACTIVE_CONTENT = (b"<!doctype html", b"<html", b"<svg", b"<script", b"<?xml", b"<body", b"<iframe")
SNIFF_BYTES = 1024


def _head(file, size: int) -> bytes:
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


def _refuse(file) -> ValidationError:
    return ValidationError(_("This file is not what its name says (%(name)s): upload the document itself.")
                           % {"name": PurePath(file.name).name}, code="invalid_content")


def _is_image(file, extension: str) -> bool:
    try:
        file.seek(0)
        with Image.open(file) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    finally:
        file.seek(0)
    return kind == IMAGE_FORMATS[extension]


def _is_pdf(file) -> bool:
    if not _head(file, 5) == b"%PDF-":
        return False
    try:
        file.seek(0)
        PdfReader(file, strict=False).pages[0]
    except (PyPdfError, OSError, ValueError, KeyError, IndexError, TypeError):
        return False
    finally:
        file.seek(0)
    return True


def _zip_names(file) -> set[str]:
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return set()
    finally:
        file.seek(0)


def _is_text(file) -> bool:
    head = _head(file, SNIFF_BYTES * 64)
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        if error.start < len(head) - 4:
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    return True


def _is_active(file) -> bool:
    head = _head(file, SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(ACTIVE_CONTENT)


def _matches(file, extension: str) -> bool:
    if extension in IMAGE_FORMATS:
        return _is_image(file, extension)
    if extension == "pdf":
        return _is_pdf(file)
    if extension in OOXML_EXTENSIONS:
        return "[Content_Types].xml" in _zip_names(file)
    if extension in OPENDOCUMENT_EXTENSIONS:
        return "mimetype" in _zip_names(file)
    if extension in OLE2_EXTENSIONS:
        return _head(file, len(OLE2_MAGIC)) == OLE2_MAGIC
    if extension == "heic":
        return _head(file, 12)[4:8] == b"ftyp"
    if extension == "txt":
        return _is_text(file)
    return False


def validate_file_content(file) -> None:
    """Refuse a file whose content is not what its extension says, or that a browser would run."""
    extension = PurePath(file.name).suffix.lower().lstrip(".")
    if _is_active(file) or not _matches(file, extension):
        raise _refuse(file)
