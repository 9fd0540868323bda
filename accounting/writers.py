"""Writers: each writes the header and rows of any exporter to a file, streaming.

CSV is UTF-8 (with a byte-order mark so spreadsheets detect it); with the `;`
delimiter numbers get a decimal comma, as French spreadsheets expect. XLSX
uses openpyxl's write-only mode, which streams rows to disk. The FEC text
writer writes already formatted cells separated by a tab or a pipe. In CSV and
XLSX, text cells that a spreadsheet would run as a formula get a leading quote.

Text comes from people (funding sources, bucket titles, names, memos) and the
ledger keeps it for ever, so whatever a person typed must make a valid file:
each writer applies its format's rules to every text cell, here and nowhere
else. CSV quotes (a field holding the delimiter, a quote or a line break is
quoted, its quotes doubled) and keeps every character. XLSX drops the
characters XML cannot hold and writes line breaks as line feeds. The FEC
blanks its separators, line breaks and control characters and turns double
quotes into apostrophes, since its fields are never quoted.
"""

import csv
import io
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

# The kernel's rule, shared with every other file a person may open in a spreadsheet (the audit log's CSV).
from contrib_budget.text import neutralized

CSV_DELIMITERS = {",": ",", ";": ";"}
FEC_SEPARATORS = {"tab": "\t", "pipe": "|"}
COPIED_BATCH_BYTES = 1 << 16
AMOUNT_FORMAT = "#,##0.00"
# The styles the workbook gives its first date cell and its first amount cell, which the copied rows name.
XLSX_DATE_STYLE = 1
XLSX_AMOUNT_STYLE = 2
COPY_DELIMITERS = {",": "','", ";": "';'", "\t": "E'\\t'", "|": "'|'"}

# XML 1.0 holds no C0 control character but tab, line feed and carriage return, no lone surrogate,
# and neither U+FFFE nor U+FFFF. openpyxl refuses the control characters (the whole export would
# fail on one bell character) but lets the others through into a file no spreadsheet opens.
XML_FORBIDDEN_RE = re.compile(ILLEGAL_CHARACTERS_RE.pattern + r"|[\ud800-\udfff\ufffe\uffff]")
# The FEC's fields are never quoted, so a field may hold no separator (tab or pipe), no line break
# and no control character: C0 and C1 controls (tab, CR, LF, NEL among them) and the Unicode line
# and paragraph separators, which some readers take for line ends.
FEC_BLANKED_RE = re.compile(r"[|\x00-\x1f\x7f-\x9f\u2028\u2029]")
SPACE_RUNS_RE = re.compile(r" {2,}")


def xml_safe(text: str) -> str:
    """Text without the characters an XLSX cell cannot hold (dropped: they print nothing anyway)."""
    return XML_FORBIDDEN_RE.sub("", text)


def with_line_feeds(text: str) -> str:
    """Line breaks as line feeds: Excel breaks a cell's lines on LF, and XML readers turn a lone CR into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def fec_field(text: str) -> str:
    """Text fit for an FEC field: double quotes become apostrophes; separators, line breaks and control
    characters become spaces; runs of spaces shrink to one, and none is left at either end."""
    if _fit_for_fec(text):
        return text
    text = FEC_BLANKED_RE.sub(" ", text.replace('"', "'"))
    return SPACE_RUNS_RE.sub(" ", text).strip(" ")


def _fit_for_fec(text: str) -> bool:
    """Most fields (amounts, dates, codes, plain labels) need no change: checked by C string methods, without the
    two expressions (an FEC of a million entries has eighteen million fields). Printable excludes every control
    character and the line and paragraph separators."""
    return (text.isprintable() and '"' not in text and "|" not in text and "  " not in text
            and not text.startswith(" ") and not text.endswith(" "))


class Writer(ABC):
    extension = ""
    content_type = "application/octet-stream"

    def __init__(self, stream: BinaryIO, *, options: dict):
        self.stream = stream
        self.options = options

    def write_header(self, header: list[str]) -> None:
        self.write_row(header)

    @abstractmethod
    def write_row(self, row: list) -> None:
        """Write one row to the stream."""

    @abstractmethod
    def close(self) -> None:
        """Flush what the writer buffers to the stream (each writer buffers its own way, so each must say how)."""

    @abstractmethod
    def copy_statement(self, select: str) -> str:
        """The COPY of `select`'s rows (cells the database formatted as this writer does) in this format."""

    @abstractmethod
    def write_copied(self, chunks: Iterable[bytes | memoryview]) -> Iterator[int]:
        """Write what that COPY sends, yielding how many rows as they go."""


class TextWriter(Writer):
    delimiter = ","
    encoding = "utf-8"

    def __init__(self, stream: BinaryIO, *, options: dict):
        super().__init__(stream, options=options)
        self.text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        self.csv = csv.writer(self.text, **self.dialect())

    def dialect(self) -> dict:
        # RFC 4180: a field holding the delimiter, a quote, CR or LF is quoted and its quotes doubled.
        return {"delimiter": self.delimiter, "lineterminator": "\r\n", "quoting": csv.QUOTE_MINIMAL,
                "doublequote": True}

    def write_row(self, row: list) -> None:
        self.csv.writerow([self.cell(value) for value in row])

    def cell(self, value) -> str:
        return "" if value is None else str(value)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()

    def copy_statement(self, select: str) -> str:
        """COPY writing the rows of `select` (formatted cells, see exporters.in_sql) as this writer would."""
        return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, DELIMITER {COPY_DELIMITERS[self.delimiter]})"

    def write_copied(self, chunks: Iterable[bytes | memoryview]) -> Iterator[int]:
        """Write what COPY sent, with CR LF line ends as `write_row` writes; yields the rows written, a batch of
        chunks at a time (COPY sends a chunk per row).

        COPY ends its lines with LF. A LF ends a line when an even number of quotes came before it; inside
        quotes it belongs to a field, which keeps it as typed."""
        self.text.flush()
        quoted = False
        for batch in _batches(chunks, COPIED_BATCH_BYTES):
            pieces = batch.split(b"\n")
            out, ended = [], 0
            for piece in pieces[:-1]:
                quoted ^= piece.count(b'"') % 2 == 1
                out.append(piece + (b"\n" if quoted else b"\r\n"))
                ended += not quoted
            quoted ^= pieces[-1].count(b'"') % 2 == 1
            out.append(pieces[-1])
            self.stream.write(b"".join(out))
            yield ended


def _batches(chunks: Iterable[bytes | memoryview], size: int) -> Iterator[bytes]:
    """The chunks joined into batches of about `size` bytes."""
    batch: list[bytes | memoryview] = []
    length = 0
    for chunk in chunks:
        batch.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(batch)
            batch, length = [], 0
    if batch:
        yield b"".join(batch)


class CsvWriter(TextWriter):
    extension = "csv"
    content_type = "text/csv; charset=utf-8"
    encoding = "utf-8-sig"

    def __init__(self, stream: BinaryIO, *, options: dict):
        self.delimiter = CSV_DELIMITERS.get(options.get("delimiter") or ",", ",")
        super().__init__(stream, options=options)

    def cell(self, value) -> str:
        if isinstance(value, Decimal):
            text = f"{value:.2f}"
            return text.replace(".", ",") if self.delimiter == ";" else text
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, str):
            return neutralized(value)
        return super().cell(value)


class FecWriter(TextWriter):
    """The FEC's flat file: a header line then one line per entry, no quoting.

    Every cell goes through `fec_field`, so no field can hold a separator or a line break;
    should one still come, the csv module raises (no escape character) rather than write a
    line of the wrong number of fields.
    """

    extension = "txt"
    content_type = "text/plain; charset=utf-8"

    def __init__(self, stream: BinaryIO, *, options: dict):
        self.delimiter = FEC_SEPARATORS.get(options.get("separator") or "tab", "\t")
        super().__init__(stream, options=options)

    def dialect(self) -> dict:
        return {"delimiter": self.delimiter, "lineterminator": "\r\n", "quoting": csv.QUOTE_NONE,
                "escapechar": None}

    def cell(self, value) -> str:
        return fec_field(super().cell(value))


class XlsxWriter(Writer):
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, stream: BinaryIO, *, options: dict):
        super().__init__(stream, options=options)
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(options.get("title", "export")[:31])
        self.copied_sheet: tuple[zipfile.ZipFile, IO[bytes], bytes] | None = None

    def write_row(self, row: list) -> None:
        self.sheet.append([self.cell(value) for value in row])

    def cell(self, value):
        if isinstance(value, Decimal):
            # Amounts show two decimals (3000 reads 3 000,00 in a French spreadsheet).
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = AMOUNT_FORMAT
            return cell
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, str):
            # Dropping characters may uncover a formula ("\x07=SUM(…)"): neutralize what is left.
            return self.text_cell(neutralized(with_line_feeds(xml_safe(value))))
        return value

    def text_cell(self, text: str):
        """A cell typed as text: openpyxl would store "#N/A" or "#REF!" as an error value, not as what was typed."""
        if text not in ERROR_CODES:
            return text
        cell = WriteOnlyCell(self.sheet, value=text)
        cell.data_type = "s"
        return cell

    def copy_statement(self, select: str) -> str:
        """COPY writing the rows of `select` (a line of the sheet's XML each, see exporters.in_sql), after a row
        that gives the workbook the styles those lines name; `write_copied` puts the lines in its place.

        The lines hold no line break, no \x01 and no \x02 (the cells drop them), so COPY writes them as they are."""
        marker = WriteOnlyCell(self.sheet, value=date.min), self.cell(Decimal(0))
        self.sheet.append(marker)
        if (marker[0].style_id, marker[1].style_id) != (XLSX_DATE_STYLE, XLSX_AMOUNT_STYLE):
            raise RuntimeError("the workbook's styles are not the ones the copied rows name")
        return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"

    def write_copied(self, chunks: Iterable[bytes | memoryview]) -> Iterator[int]:
        """Write the workbook with the lines COPY sent in the place of the marker row; yields the rows written."""
        skeleton = io.BytesIO()
        self.workbook.save(skeleton)
        archive = zipfile.ZipFile(self.stream, "w", zipfile.ZIP_DEFLATED)
        sheet_name = ""
        with zipfile.ZipFile(skeleton) as source:
            for info in source.infolist():
                if info.filename.startswith("xl/worksheets/"):
                    sheet_name = info.filename
                    before, marker_and_after = source.read(info).split(b'<row r="2">', 1)
                    after = marker_and_after.split(b"</row>", 1)[1]
                else:
                    archive.writestr(info, source.read(info))
        sheet = archive.open(sheet_name, "w", force_zip64=True)
        sheet.write(before)
        self.copied_sheet = (archive, sheet, after)
        for batch in _batches(chunks, COPIED_BATCH_BYTES):
            sheet.write(batch)
            yield batch.count(b"\n")

    def close(self) -> None:
        if self.copied_sheet is None:
            self.workbook.save(self.stream)
            return
        archive, sheet, after = self.copied_sheet
        sheet.write(after)
        sheet.close()
        archive.close()


WRITERS: dict[str, type[Writer]] = {"csv": CsvWriter, "xlsx": XlsxWriter, "txt": FecWriter}
