"""What goes wrong when loading data: the `DataError` family, and how a path that cannot be read is reported."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Literal


class DataError(Exception):
    """Base class for every data-loading failure."""


class DataFormatError(DataError, ValueError):
    """A data file exists but is not what it claims to be."""


class DataNotFoundError(DataError, FileNotFoundError):
    """No data could be found or downloaded; the message says what to do."""


class DataAccessError(DataError, PermissionError):
    """A data file or folder exists but this user may not read it."""


def denied(path: Path, what: Literal["file", "folder", "path"]) -> DataAccessError:
    """The one-line error for a permission refused on `path`."""
    how = {"file": f"chmod a+r {path}", "folder": f"chmod a+rx {path}", "path": "chmod a+rx on each folder above it"}[
        what
    ]
    return DataAccessError(
        f"{path}: permission denied: this user may not read this {what}; make it readable "
        f"({how}) or pass a readable copy with --data-dir"
    )


def unreadable(path: Path, exc: OSError) -> DataError | None:
    """The `DataError` for a file that could not be opened (refused or missing), or None for any other failure."""
    if isinstance(exc, PermissionError):
        return denied(path, "file")
    if isinstance(exc, FileNotFoundError):
        return DataNotFoundError(f"{path}: no such file")
    return None


def path_kind(path: Path) -> Literal["file", "folder"] | None:
    """'file', 'folder', or None when nothing is there (a parent that is a file included)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:  # a folder above it may not be searched
        raise denied(path, "path") from exc
    return "folder" if stat.S_ISDIR(mode) else "file"
