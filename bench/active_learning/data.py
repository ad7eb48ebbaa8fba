"""Load the Davidson et al. (2017) tweets for the active-learning benches (class 0, hate speech, = "bad")."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAVIDSON_CSV = PROJECT_ROOT.parent / "shared" / "datasets" / "davidson-hate-offensive" / "labeled_data.csv"


@dataclass
class Davidson:
    """Texts, the binary target (1 = hate speech, the rare "needs review" class) and per-item vote shares."""

    texts: list[str]
    y: np.ndarray
    hate_share: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def load_davidson(path: Path | str = DAVIDSON_CSV) -> Davidson:
    """Read labeled_data.csv; raises FileNotFoundError with the expected location if it is absent."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Davidson data not found at {path} (expected <project root>/../shared/datasets)")
    texts, y, share = [], [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["tweet"])
            y.append(1 if row["class"] == "0" else 0)
            share.append(int(row["hate_speech"]) / max(int(row["count"]), 1))
    return Davidson(texts, np.asarray(y, dtype=np.int8), np.asarray(share, dtype=np.float64))
