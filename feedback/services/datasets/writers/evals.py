"""Eval-suite formats: promptfoo test cases, OpenAI evals samples, inspect-ai samples, DeepEval goldens.

Only rows with an ideal answer (a correction, or a response labelled good) become eval cases; the expected
output is that ideal answer.
"""

from __future__ import annotations

from typing import Any

from feedback.services.datasets.records import PreferencePair, Record
from feedback.services.datasets.writers.base import JsonArrayWriter, Writer, chat_ready, messages, metadata


def _last_user(record: Record) -> str:
    for message in reversed(record.messages):
        if message.role == "user":
            return message.content
    return ""


class PromptfooWriter(JsonArrayWriter):
    """promptfoo tests file (JSON list): `{"description", "vars", "assert": [{"type": "similar"}], "metadata"}`."""

    name = "promptfoo"
    description = "promptfoo test cases (tests: file://<split>.json)"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        ideal = item.ideal
        if ideal is None or not item.messages:
            return []
        return [{
            "description": f"interaction {item.interaction_id}",
            "vars": {"prompt": _last_user(item), "messages": messages(item.messages)},
            "assert": [{"type": "similar", "value": ideal, "threshold": 0.8}],
            "metadata": metadata(item, split),
        }]


class OpenAIEvalsWriter(Writer):
    """OpenAI evals samples: `{"input": [messages], "ideal": str}`."""

    name = "openai_evals"
    plain = True
    split_free = True
    description = "OpenAI evals samples JSONL"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        ideal = item.ideal
        if ideal is None or not item.messages:
            return []
        return [{"input": messages(item.messages), "ideal": ideal}]


class InspectWriter(Writer):
    """inspect-ai samples for `json_dataset`: `{"id", "input": [messages], "target", "metadata"}`."""

    name = "inspect"
    description = "inspect-ai samples JSONL (json_dataset)"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        ideal = item.ideal
        if ideal is None or not chat_ready(item.messages):
            return []
        return [{"id": str(item.interaction_id), "input": messages(item.messages), "target": ideal,
                 "metadata": metadata(item, split)}]


class DeepEvalWriter(JsonArrayWriter):
    """DeepEval goldens (JSON array): `{"input", "expected_output", "context", "additional_metadata"}`."""

    name = "deepeval"
    description = "DeepEval goldens JSON array"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        ideal = item.ideal
        if ideal is None or not item.messages:
            return []
        context = [f"{m.role}: {m.content}" for m in item.messages[:-1]]
        return [{"input": _last_user(item), "expected_output": ideal, "context": context,
                 "additional_metadata": metadata(item, split)}]
