"""Errors raised by the dataset export pipeline (surface as 422 JSON errors or a non-zero CLI exit)."""

from __future__ import annotations

from feedback.errors import ValidationFailed


class DatasetError(ValidationFailed):
    """Bad export parameters or an export that cannot be produced; nothing is left on disk when raised."""

    code = "dataset_error"


class EmptySelection(DatasetError):
    """The filters selected no rows (or curation removed them all)."""

    code = "empty_selection"
