"""What a file is, read from its bytes (puremagic's signatures, the parts of an OOXML zip, the first line of the
text CAD formats), and whether the platform accepts it. The name's extension must agree with the content."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from typing import IO

import puremagic


@dataclass(frozen=True)
class FileType:
    name: str
    title: str
    extensions: tuple[str, ...]
    content_type: str


ACCEPTED: dict[str, FileType] = {t.name: t for t in (
    FileType("pdf", "PDF", (".pdf",), "application/pdf"),
    FileType("jpeg", "JPEG", (".jpg", ".jpeg"), "image/jpeg"),
    FileType("png", "PNG", (".png",), "image/png"),
    FileType("tiff", "TIFF", (".tif", ".tiff"), "image/tiff"),
    FileType("webp", "WebP", (".webp",), "image/webp"),
    FileType("dwg", "DWG", (".dwg",), "application/acad"),
    FileType("dxf", "DXF", (".dxf",), "image/vnd.dxf"),
    FileType("step", "STEP", (".step", ".stp"), "application/step"),
    FileType("xlsx", "XLSX", (".xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    FileType("docx", "DOCX", (".docx",),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
)}
ACCEPTED_TEXT = "PDF, изображения (JPEG, PNG, TIFF, WebP), чертежи и модели (DWG, DXF, STEP), таблицы XLSX, документы DOCX"
ACCEPT_ATTRIBUTE = ",".join(ext for t in ACCEPTED.values() for ext in t.extensions)

# puremagic's extension → ours (it names JPEG several ways and knows no text CAD formats).
_MAGIC = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".jfif": "jpeg", ".jpe": "jpeg", ".png": "png",
          ".tif": "tiff", ".tiff": "tiff", ".webp": "webp", ".dwg": "dwg"}
_DXF = re.compile(rb"\A\s*(?:999\s*\r?\n[^\n]*\n\s*)?0\s*\r?\n\s*SECTION\s*\r?\n")
_STEP = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*ISO-10303-21\s*;")
_BINARY_DXF = b"AutoCAD Binary DXF\r\n\x1a\x00"


def extension_type(filename: str) -> FileType | None:
    lower = filename.lower()
    return next((t for t in ACCEPTED.values() if lower.endswith(t.extensions)), None)


def detect(stream: IO[bytes]) -> str | None:
    """Our type name for the content of a seekable ``stream`` (read from its start), or ``None``."""
    stream.seek(0)
    head = stream.read(4096)
    stream.seek(0)
    if not head:
        return None
    if head.startswith(b"PK\x03\x04"):
        return _ooxml(stream)
    if head.startswith(_BINARY_DXF) or _DXF.match(head):
        return "dxf"
    if _STEP.match(head):
        return "step"
    try:
        found = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    for match in found:
        name = _MAGIC.get(match.extension.lower())
        if name is not None:
            return name
    return None


def _ooxml(stream: IO[bytes]) -> str | None:
    """A zip is a workbook or a word document only by its parts (a renamed .zip or .jar is neither)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    finally:
        stream.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    return None
