"""CSV text: decoding and parsing into a frame of stripped strings with exact line numbers.

Format-agnostic: the caller checks the header (``check_header`` returns the layout's name or
raises). Every problem raises :class:`~nhs_league.errors.SchemaError` with file and line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import numpy as np
import polars as pl

from nhs_league.errors import SchemaError

HeaderCheck = Callable[[list[str], str], str]


def decode(raw: bytes, name: str) -> str:
    if not raw.strip():
        raise SchemaError(
            name, "the file is empty", line=1, found="", expected="a CSV header and rows"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # exc.object is the text after any BOM, and exc.start an offset into it.
        line, column, cell = _locate_bad_bytes(bytes(exc.object), exc.start)
        raise SchemaError(
            name,
            "the file is not UTF-8 text",
            line=line,
            column=column,
            found=cell,
            expected="a UTF-8 CSV file (with or without BOM)",
        ) from None


def _locate_bad_bytes(raw: bytes, start: int) -> tuple[int, str | None, bytes]:
    """The line, column and cell (as bytes) holding the undecodable byte at ``start``.

    Lines are split with latin-1, which maps every byte to one character and leaves the ASCII
    commas and quotes where they are, so the cells come back byte for byte.
    """
    line = raw[:start].count(b"\n") + 1
    line_start = raw.rfind(b"\n", 0, start) + 1
    line_end = raw.find(b"\n", start)
    row = raw[line_start : len(raw) if line_end < 0 else line_end].rstrip(b"\r")
    before = raw[line_start:start].decode("latin-1")
    index = len(next(csv.reader([before]))) - 1 if before else 0
    fields = next(csv.reader([row.decode("latin-1")]))
    header = next(csv.reader([raw.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")]))
    column = header[index].strip() if line > 1 and index < len(header) else None
    cell = fields[index].encode("latin-1") if index < len(fields) else row
    return line, column, cell


BOM = b"\xef\xbb\xbf"
_COMMA, _QUOTE, _CR, _LF = (ord(c) for c in ',"\r\n')
# NUL, and the four separators that Python's str.strip takes for whitespace and Polars'
# strip_chars does not (csv reading skips a row that Python strips to nothing).
_ODD_BYTES = (b"\x00", b"\x1c", b"\x1d", b"\x1e", b"\x1f")


def read_frame(
    body: bytes, text: str, name: str, check_header: HeaderCheck
) -> tuple[pl.DataFrame, str]:
    """Parse the CSV into a frame of strings, with ``_line``: where each row starts.

    ``body`` is the file's bytes after any BOM and ``text`` the same decoded. Cells are stripped;
    an empty cell is null. A plain file (see :func:`_plain_shape`) is parsed by Polars; anything
    else by :mod:`csv`, which gives the same frame and every error with its exact line.
    """
    shape = _plain_shape(body)
    if shape is not None:
        frame = _read_frame_polars(body, text, name, check_header, *shape)
        if frame is not None:
            return frame
    return _read_frame_csv(text, name, check_header)


def _plain_shape(body: bytes) -> tuple[int, int] | None:
    """(physical lines, cells per line) if every line is one record with the same cell count.

    That holds when no quoted cell spans lines; every line (the header included) has the same
    number of commas outside quotes; line ends are LF or CRLF only; no line is longer than csv's
    field size limit; there are none of :data:`_ODD_BYTES`; and every quote opens a cell (after
    a comma or a line start), closes one (before a comma or a line end) or is half of a doubled
    quote inside a quoted cell. Such a file has no blank lines and no short or long rows, and
    Polars reads it exactly as :mod:`csv` does. ``None`` otherwise. Checked on the bytes,
    vectorised: in UTF-8 these ASCII bytes never occur inside a multi-byte character.
    """
    if not body or any(c in body for c in _ODD_BYTES):
        return None
    b = np.frombuffer(body, dtype=np.uint8)
    mask = np.empty(b.size, dtype=bool)  # one scratch buffer for every byte comparison
    # Every CR is half of a CRLF.
    crs = np.flatnonzero(np.equal(b, _CR, out=mask))
    if crs.size and (crs[-1] == b.size - 1 or (b[crs + 1] != _LF).any()):
        return None
    ends = np.flatnonzero(np.equal(b, _LF, out=mask))
    bounds = ends if b[-1] == _LF else np.append(ends, b.size)  # where each line ends
    n_lines = bounds.size
    # No cell can pass csv's field size limit (which csv reading reports as an error).
    if n_lines < 2 or np.diff(bounds, prepend=-1).max() > csv.field_size_limit():
        return None
    commas = np.flatnonzero(np.equal(b, _COMMA, out=mask))
    per_line = np.diff(np.searchsorted(commas, bounds), prepend=0)
    quotes = np.flatnonzero(np.equal(b, _QUOTE, out=mask))
    if quotes.size:
        if quotes.size % 2:
            return None
        opens, closes = quotes[0::2], quotes[1::2]
        # No line end inside a quoted cell.
        line = np.searchsorted(ends, opens)
        if not np.array_equal(line, np.searchsorted(ends, closes)):
            return None
        # Before an opening quote: the start, a comma, a line end or a closing quote ("").
        before = b[opens[opens > 0] - 1]
        if not ((before == _COMMA) | (before == _LF) | (before == _QUOTE)).all():
            return None
        # After a closing quote: the end, a comma, a line end or an opening quote ("").
        after = b[closes[closes < b.size - 1] + 1]
        if not ((after == _COMMA) | (after == _CR) | (after == _LF) | (after == _QUOTE)).all():
            return None
        # Commas inside quotes are cell text, not separators.
        inside = np.searchsorted(commas, closes) - np.searchsorted(commas, opens)
        np.subtract.at(per_line, line, inside)
    if not (per_line == per_line[0]).all():
        return None
    return int(n_lines), int(per_line[0]) + 1


def _read_frame_polars(
    body: bytes, text: str, name: str, check_header: HeaderCheck, n_lines: int, n_cells: int
) -> tuple[pl.DataFrame, str] | None:
    """The fast path of :func:`read_frame`, for a file :func:`_plain_shape` vouches for.

    ``None`` (read it with :mod:`csv` instead) if Polars does not give one row per line, or if
    some row is all empty cells (which :mod:`csv` reading skips).
    """
    # The header is the first line (no cell spans lines), read as csv reading would.
    first = io.StringIO(text[: text.find("\n") + 1], newline="")
    header = [h.strip() for h in next(csv.reader(first, strict=True))]
    if len(header) != n_cells:
        return None
    layout = check_header(header, name)
    try:
        frame = pl.read_csv(body, has_header=True, infer_schema=False)
    except pl.exceptions.PolarsError:
        return None
    if frame.shape != (n_lines - 1, n_cells):
        return None
    frame.columns = header
    frame = _clean(frame, header)
    if frame.select(pl.all_horizontal(pl.all().is_null()).any()).item():
        return None
    return frame.with_columns(pl.int_range(2, n_lines + 1, dtype=pl.Int64).alias("_line")), layout


def _clean(frame: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """Every cell stripped, and an empty cell null."""
    return frame.with_columns(pl.col(header).str.strip_chars().replace("", None))


def _read_frame_csv(text: str, name: str, check_header: HeaderCheck) -> tuple[pl.DataFrame, str]:
    """:func:`read_frame` with :mod:`csv`, for any file.

    Parsed with :mod:`csv` so that every row's line number is exact (a quoted cell may span
    lines), a row with too few or too many cells is an error, not a silent null or a crash, and
    blank lines are skipped. Cells are stripped; an empty cell is null.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    layout = ""
    start = 1
    try:
        for record in reader:
            if header is None:
                header = [h.strip() for h in record]
                layout = check_header(header, name)
            elif record and any(cell.strip() for cell in record):
                if len(record) != len(header):
                    missing = len(record) < len(header)
                    raise SchemaError(
                        name,
                        f"a row with {len(record)} cells" + (" (cut short)" if missing else ""),
                        line=start,
                        column=header[len(record)] if missing else None,
                        found=len(record),
                        expected=f"{len(header)} cells, one per column of the header",
                    )
                rows.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SchemaError(
            name,
            f"not a well-formed CSV file ({exc})",
            line=start,
            expected="comma-separated cells, quoted with double quotes where needed",
        ) from None
    if header is None:
        raise SchemaError(
            name, "the file is empty", line=1, found="", expected="a CSV header and rows"
        )
    if not rows:
        raise SchemaError(
            name,
            "the file has a header but no rows",
            line=2,
            found="",
            expected="at least one data row",
        )
    columns = list(zip(*rows, strict=True))
    frame = _clean(
        pl.DataFrame(
            {
                col: pl.Series(col, values, dtype=pl.String)
                for col, values in zip(header, columns, strict=True)
            }
        ),
        header,
    )
    return frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64)), layout
