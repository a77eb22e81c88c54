"""Typed errors. Each says what went wrong, where, what was found and what was expected.

The CLI prints ``str(error)`` as one line and exits with status 2; tests pin the text.
"""

from __future__ import annotations

from pathlib import Path


class NhsLeagueError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(NhsLeagueError):
    """A data file cannot be read as what it claims to be.

    ``file``, ``line`` (1-based, the header is line 1) and ``column`` say where;
    ``found`` is the offending value and ``expected`` what would have been accepted.
    """

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        found: object = None,
        expected: str | None = None,
    ) -> None:
        self.file = str(file)
        self.problem = problem
        self.line = line
        self.column = column
        self.found = found
        self.expected = expected
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: {self.problem}"
        if self.found is not None:
            text += f"; found {self.found!r}"
        if self.expected is not None:
            text += f"; expected {self.expected}"
        return text


class SchemaError(InputError):
    """Missing, misspelt or extra columns; an empty or undecodable file."""


class ValueFormatError(InputError):
    """A cell that should hold a number (or a known code) does not."""


class DuplicateRowError(InputError):
    """The same (quarter, trust, metric, units) appears twice."""


class UnknownMetric(InputError):
    """A Metric_ID the method pack does not declare."""


class MetricNotApplicable(InputError):
    """A metric reported for a trust type the method pack says it does not apply to."""


class MethodError(NhsLeagueError):
    """A method pack key or value is invalid."""

    def __init__(self, source: str, key: str, problem: str, allowed: str | None = None) -> None:
        self.source = source
        self.key = key
        msg = f"{source}: {key}: {problem}"
        if allowed is not None:
            msg += f"; allowed: {allowed}"
        super().__init__(msg)


class UnknownTrust(NhsLeagueError):
    """No trust matches a code or name; carries close matches."""

    def __init__(self, query: str, suggestions: list[str] | None = None) -> None:
        self.query = query
        self.suggestions = suggestions or []
        msg = f"no trust matches {query!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(self.suggestions) + "?"
        super().__init__(msg)


class AmbiguousTrust(NhsLeagueError):
    """A name search matched more than one trust."""

    def __init__(self, query: str, matches: list[str]) -> None:
        self.query = query
        self.matches = matches
        shown = ", ".join(matches[:8]) + (" ..." if len(matches) > 8 else "")
        super().__init__(f"{query!r} matches {len(matches)} trusts: {shown}; give a trust code")


class NoData(NhsLeagueError):
    """The request names a quarter, trust type or metric that no loaded file holds."""


class StoreError(NhsLeagueError):
    """The store cannot be opened or written."""


class FetchError(InputError):
    """A download failed or is not what it should be (an HTTP error, a timeout, a body cut
    short, an HTML page instead of a CSV file, or a file that does not read). ``url`` says which;
    as with every :class:`InputError`, ``line`` and ``column`` say where when the file is read.
    """

    def __init__(
        self,
        url: str,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
        found: object = None,
        expected: str | None = None,
    ) -> None:
        self.url = url
        super().__init__(url, problem, line=line, column=column, found=found, expected=expected)
