"""Writers: each writes the header and rows of any exporter to a file, streaming.

CSV is UTF-8 (with a byte-order mark so spreadsheets detect it); with the `;`
delimiter numbers get a decimal comma, as French spreadsheets expect. XLSX
uses openpyxl's write-only mode, which streams rows to disk. The FEC text
writer writes already formatted cells separated by a tab or a pipe. In CSV and
XLSX, text cells that a spreadsheet would run as a formula get a leading quote.
"""

import csv
import io
from abc import ABC, abstractmethod
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

CSV_DELIMITERS = {",": ",", ";": ";"}
# A text cell starting with one of these runs as a formula in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(text: str) -> str:
    """User text made inert in a spreadsheet: a leading quote keeps `=HYPERLINK(...)` a mere text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
FEC_SEPARATORS = {"tab": "\t", "pipe": "|"}


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

    def close(self) -> None:
        """Flush what the writer buffers to the stream."""


class TextWriter(Writer):
    delimiter = ","
    encoding = "utf-8"

    def __init__(self, stream: BinaryIO, *, options: dict):
        super().__init__(stream, options=options)
        self.text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        self.csv = csv.writer(self.text, **self.dialect())

    def dialect(self) -> dict:
        return {"delimiter": self.delimiter, "lineterminator": "\r\n"}

    def write_row(self, row: list) -> None:
        self.csv.writerow([self.cell(value) for value in row])

    def cell(self, value) -> str:
        return "" if value is None else str(value)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


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
    """The FEC's flat file: a header line then one line per entry, no quoting."""

    extension = "txt"
    content_type = "text/plain; charset=utf-8"

    def __init__(self, stream: BinaryIO, *, options: dict):
        self.delimiter = FEC_SEPARATORS.get(options.get("separator") or "tab", "\t")
        super().__init__(stream, options=options)

    def dialect(self) -> dict:
        return {"delimiter": self.delimiter, "lineterminator": "\r\n", "quoting": csv.QUOTE_NONE,
                "escapechar": None}


class XlsxWriter(Writer):
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, stream: BinaryIO, *, options: dict):
        super().__init__(stream, options=options)
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(options.get("title", "export")[:31])

    def write_row(self, row: list) -> None:
        self.sheet.append([self.cell(value) for value in row])

    def cell(self, value):
        if isinstance(value, Decimal):
            # Amounts show two decimals (3000 reads 3 000,00 in a French spreadsheet).
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = "#,##0.00"
            return cell
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, str):
            return neutralized(value)
        return value

    def close(self) -> None:
        self.workbook.save(self.stream)


WRITERS: dict[str, type[Writer]] = {"csv": CsvWriter, "xlsx": XlsxWriter, "txt": FecWriter}
