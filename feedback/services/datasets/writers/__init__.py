"""Output formats, by name. Each writer streams items to `<format>/<split>.<ext>` inside a snapshot."""

from __future__ import annotations

from feedback.services.datasets.writers.base import FileInfo, Writer
from feedback.services.datasets.writers.evals import (
    DeepEvalWriter,
    InspectWriter,
    OpenAIEvalsWriter,
    PromptfooWriter,
)
from feedback.services.datasets.writers.finetune import (
    OpenAIDpoWriter,
    OpenAISftWriter,
    TrlKtoWriter,
    TrlPreferenceWriter,
    TrlSftMessagesWriter,
    TrlSftPromptCompletionWriter,
)
from feedback.services.datasets.writers.tabular import CsvWriter, HfDatasetWriter

FORMATS: dict[str, type[Writer]] = {w.name: w for w in (
    OpenAISftWriter, OpenAIDpoWriter, TrlSftMessagesWriter, TrlSftPromptCompletionWriter, TrlPreferenceWriter,
    TrlKtoWriter, HfDatasetWriter, PromptfooWriter, OpenAIEvalsWriter, InspectWriter, DeepEvalWriter, CsvWriter,
)}

__all__ = ["FORMATS", "FileInfo", "Writer"]
