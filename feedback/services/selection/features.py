"""Feature extraction for the quality model: hashed word n-grams of prompt and response + numeric signals.

Hashing (no fitted vocabulary) means an interaction's row never changes once computed, so rows can be cached
on disk and appended incrementally (see `feature_store`). Columns, in order:

    [ response n-grams (2^response_bits) | prompt n-grams (2^prompt_bits) | numeric (N_NUMERIC) |
      model version one-hot via hashing (2^model_bits) ]
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer

NUMERIC_COLUMNS: tuple[str, ...] = (
    "confidence",
    "confidence_missing",
    "log_response_chars",
    "log_prompt_chars",
    "log_response_words",
)
N_NUMERIC = len(NUMERIC_COLUMNS)


@dataclass(frozen=True)
class FeatureSpec:
    """The shape of the feature space; its `key()` names the cache so a change never mixes old rows in."""

    response_bits: int = 18
    prompt_bits: int = 16
    model_bits: int = 5
    ngram_max: int = 2
    schema: int = 1

    def key(self) -> str:
        """A short stable digest of the spec, used as the cache directory name and in model versions."""
        raw = repr(sorted(asdict(self).items())).encode()
        return "fs" + hashlib.sha1(raw).hexdigest()[:10]

    @property
    def n_features(self) -> int:
        """Total number of columns of a feature row."""
        return (1 << self.response_bits) + (1 << self.prompt_bits) + N_NUMERIC + (1 << self.model_bits)


@dataclass
class FeatureInput:
    """Column-wise raw signals of a batch of interactions (all sequences have the same length)."""

    prompts: Sequence[str]
    responses: Sequence[str]
    confidences: Sequence[float | None] | None = None
    model_versions: Sequence[str | None] | None = None

    def __len__(self) -> int:
        return len(self.responses)


def _text_hasher(bits: int, ngram_max: int) -> HashingVectorizer:
    return HashingVectorizer(
        n_features=1 << bits,
        ngram_range=(1, ngram_max),
        alternate_sign=False,
        norm="l2",
        lowercase=True,
        dtype=np.float32,
    )


def _numeric_block(batch: FeatureInput) -> sp.csr_matrix:
    n = len(batch)
    out = np.zeros((n, N_NUMERIC), dtype=np.float32)
    confidences = batch.confidences if batch.confidences is not None else [None] * n
    for i in range(n):
        conf = confidences[i]
        if conf is None or (isinstance(conf, float) and math.isnan(conf)):
            out[i, 1] = 1.0
        else:
            out[i, 0] = min(max(float(conf), 0.0), 1.0)
        response = batch.responses[i] or ""
        prompt = batch.prompts[i] or ""
        out[i, 2] = math.log1p(len(response)) / 10.0
        out[i, 3] = math.log1p(len(prompt)) / 10.0
        out[i, 4] = math.log1p(response.count(" ") + 1) / 5.0
    return sp.csr_matrix(out)


def _model_block(batch: FeatureInput, bits: int) -> sp.csr_matrix:
    n = len(batch)
    versions = batch.model_versions if batch.model_versions is not None else [None] * n
    hasher = FeatureHasher(n_features=1 << bits, input_type="string", alternate_sign=False, dtype=np.float32)
    return hasher.transform([[f"mv={v or ''}"] for v in versions]).tocsr()


def vectorize(batch: FeatureInput, spec: FeatureSpec | None = None) -> sp.csr_matrix:
    """Turn a batch of interactions into a float32 CSR matrix of `spec.n_features` columns."""
    spec = spec or FeatureSpec()
    n = len(batch)
    if len(batch.prompts) != n:
        raise ValueError(f"prompts has {len(batch.prompts)} rows but responses has {n}")
    for name in ("confidences", "model_versions"):
        seq = getattr(batch, name)
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} rows but responses has {n}")
    if n == 0:
        return sp.csr_matrix((0, spec.n_features), dtype=np.float32)
    responses = [r or "" for r in batch.responses]
    prompts = [p or "" for p in batch.prompts]
    blocks = [
        _text_hasher(spec.response_bits, spec.ngram_max).transform(responses),
        _text_hasher(spec.prompt_bits, spec.ngram_max).transform(prompts),
        _numeric_block(batch),
        _model_block(batch, spec.model_bits),
    ]
    return sp.hstack(blocks, format="csr", dtype=np.float32)
