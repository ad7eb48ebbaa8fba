"""Test helpers: a record factory with planted duplicates/PII, and format checks re-implemented from the
consumers' own rules (OpenAI cookbook data-prep checks, TRL key-set rules, promptfoo test-case schema)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feedback.services.datasets.records import Message, PairwiseJudgement, Provenance, Record

TOPICS = ("invoices", "shipping", "refunds", "passwords", "warranty", "upgrades", "discounts", "accounts",
          "returns", "delivery", "billing", "support", "exports", "reports", "teams", "storage")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
         "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform")


def unique_text(i: int, length: int = 14) -> str:
    """A sentence that shares few word 3-grams with any other index (so it is never a near duplicate)."""
    words = [WORDS[(i * 7 + j * (i % 5 + 3)) % len(WORDS)] + str((i * 31 + j) % 97) for j in range(length)]
    return f"About {TOPICS[i % len(TOPICS)]} number {i}: " + " ".join(words)


def make_record(i: int, *, conversation: str | None = None, label: str | None = None,
                prompt: str | None = None, response: str | None = None, correction: str | None = None,
                source: str = "end_user", tags: tuple[str, ...] = (), model: str = "gpt-4o-mini",
                pairwise: tuple[PairwiseJudgement, ...] = (), reasons: tuple[str, ...] = ()) -> Record:
    """One resolved record with sensible defaults; `i` is the interaction id."""
    label = label or ("good" if i % 3 else "bad")
    provenance = Provenance(source, "single", 1, 1, source if correction else None)  # type: ignore[arg-type]
    return Record(
        interaction_id=i, conversation_id=conversation or f"conv-{i // 2}",
        messages=(Message("system", "You are a support assistant."),
                  Message("user", prompt or f"Question {i}: {unique_text(i)}")),
        response=response or f"Answer {i}: {unique_text(i + 100_000)}", model=model, model_version="2024-07",
        created_at=datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=i), label=label,  # type: ignore[arg-type]
        rating=1.0 if label == "good" else 0.0, correction=correction, provenance=provenance,
        reasons=reasons, tags=tags, pairwise=pairwise, metadata={"channel": "web", "i": i})


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All rows of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def openai_cookbook_errors(rows: list[dict[str, Any]]) -> Counter[str]:
    """The format checks of OpenAI's cookbook notebook `Chat_finetuning_data_prep`, returning error counts."""
    errors: Counter[str] = Counter()
    for ex in rows:
        if not isinstance(ex, dict):
            errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                errors["message_missing_key"] += 1
            if any(k not in ("role", "content", "name", "function_call", "weight") for k in message):
                errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            errors["example_missing_assistant_message"] += 1
    return errors


def cookbook_token_estimate(messages: list[dict[str, str]]) -> int:
    """The cookbook's token count: 3 per message + 1 per name + 3.

    Uses tiktoken's cl100k_base when its vocabulary is available offline; otherwise counts UTF-8 bytes, an
    upper bound on the token count (every cl100k token covers at least one byte), so a limit check on the
    estimate stays sound.
    """
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if os.path.isdir(cache) and os.listdir(cache):
        import tiktoken

        encode = tiktoken.get_encoding("cl100k_base").encode
    else:  # vocabulary not cached and no network: byte count is an upper bound
        def encode(text: str) -> list[int]:
            return list(text.encode())
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encode(value)) if isinstance(value, str) else 0
            total += 1 if key == "name" else 0
    return total


TRL_KEY_SETS = {
    frozenset({"messages"}): "language_modeling",
    frozenset({"prompt", "completion"}): "prompt_completion",
    frozenset({"prompt", "chosen", "rejected"}): "preference",
    frozenset({"prompt", "completion", "label"}): "unpaired_preference",
}


def trl_dataset_type(row: dict[str, Any]) -> str:
    """TRL's dataset-type rules: the key set must be one TRL knows; conversational lists of role/content with
    the last prompt turn from user or assistant. Raises AssertionError otherwise."""
    kind = TRL_KEY_SETS.get(frozenset(row))
    assert kind is not None, f"key set {sorted(row)} is not a TRL dataset type"
    for key in ("messages", "prompt", "completion", "chosen", "rejected"):
        if key in row:
            value = row[key]
            assert isinstance(value, list) and value, f"{key} must be a non-empty conversational list"
            first = value[0]
            assert isinstance(first, dict) and "role" in first and "content" in first, "not conversational"
            assert all(isinstance(m["content"], str) for m in value)
    if "prompt" in row:
        assert row["prompt"][-1]["role"] in ("user", "assistant")
    if "label" in row:
        assert isinstance(row["label"], bool)
    return kind


PROMPTFOO_TEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "vars": {"type": "object", "additionalProperties": {
                "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "array"},
                          {"type": "object"}]}},
            "assert": {"type": "array", "items": {
                "type": "object", "required": ["type"],
                "properties": {
                    "type": {"type": "string", "enum": [
                        "equals", "contains", "icontains", "contains-all", "contains-any", "starts-with",
                        "regex", "is-json", "similar", "llm-rubric", "model-graded-closedqa", "factuality",
                        "answer-relevance", "not-equals", "not-contains", "not-similar", "javascript", "python",
                        "levenshtein", "rouge-n", "bleu", "cost", "latency"]},
                    "value": {}, "threshold": {"type": "number"}, "weight": {"type": "number"},
                    "metric": {"type": "string"}},
                "additionalProperties": False}},
            "options": {"type": "object"},
            "metadata": {"type": "object"},
            "threshold": {"type": "number"},
        },
    },
}
