"""Active learning: pick the interactions most worth a reviewer's time.

Modules: `params` (validated parameters), `features` (hashed n-grams + numeric signals), `feature_store`
(cached sparse rows on disk), `model` (quality model, committee), `strategies` and `diversity` (what to pick),
`selector` (one cycle over an in-memory pool).
"""

from feedback.services.selection.feature_store import FeatureStore
from feedback.services.selection.features import FeatureInput, FeatureSpec, vectorize
from feedback.services.selection.model import QualityModel, TrainingSet, combine_labels, train_quality_model
from feedback.services.selection.params import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    SelectionParams,
    SelectionParamsError,
    parse_params,
)
from feedback.services.selection.selector import Pool, SelectionResult, select

__all__ = [
    "DEFAULT_STRATEGY", "STRATEGIES", "FeatureInput", "FeatureSpec", "FeatureStore", "Pool", "QualityModel",
    "SelectionParams", "SelectionParamsError", "SelectionResult", "TrainingSet", "combine_labels",
    "parse_params", "select", "train_quality_model", "vectorize",
]
