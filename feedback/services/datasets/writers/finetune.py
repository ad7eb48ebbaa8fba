"""Fine-tuning formats: OpenAI chat SFT and DPO, TRL SFT (two forms), TRL preference and TRL KTO.

SFT rows teach the ideal answer: the correction when there is one, else the response of a row labelled good.
Preference rows come from `PreferencePair`s. KTO rows are unpaired: the response with its label, plus the
correction labelled desirable.
"""

from __future__ import annotations

from typing import Any

from feedback.services.datasets.records import PreferencePair, Record
from feedback.services.datasets.writers.base import Writer, assistant, chat_ready, messages


class OpenAISftWriter(Writer):
    """`{"messages": [...prompt, {"role": "assistant", "content": ideal}]}` (OpenAI chat fine-tuning)."""

    name = "openai_sft"
    plain = True
    split_free = True
    description = "OpenAI chat fine-tuning JSONL (ideal answers)"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        ideal = item.ideal
        if ideal is None or not chat_ready(item.messages):
            return []
        return [{"messages": messages(item.messages) + assistant(ideal)}]


class TrlSftMessagesWriter(OpenAISftWriter):
    """TRL conversational language-modelling form: `{"messages": [...]}`."""

    name = "trl_sft_messages"
    description = "TRL SFT, conversational `messages` form"


class TrlSftPromptCompletionWriter(Writer):
    """TRL conversational prompt-completion form: `{"prompt": [...], "completion": [assistant]}`."""

    name = "trl_sft_prompt_completion"
    plain = True
    split_free = True
    description = "TRL SFT, conversational prompt/completion form"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        ideal = item.ideal
        if ideal is None or not chat_ready(item.messages):
            return []
        return [{"prompt": messages(item.messages), "completion": assistant(ideal)}]


class TrlKtoWriter(Writer):
    """TRL unpaired preference: `{"prompt", "completion", "label": bool}`; corrections add a desirable row."""

    name = "trl_kto"
    plain = True
    split_free = True
    description = "TRL KTO/BCO unpaired preference"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, Record)
        if not chat_ready(item.messages):
            return []
        prompt = messages(item.messages)
        out = [{"prompt": prompt, "completion": assistant(item.response), "label": item.label == "good"}]
        if item.correction is not None and item.correction.strip() != item.response.strip():
            out.append({"prompt": prompt, "completion": assistant(item.correction), "label": True})
        return out


class OpenAIDpoWriter(Writer):
    """OpenAI preference fine-tuning: `{"input": {"messages"}, "preferred_output", "non_preferred_output"}`."""

    name = "openai_dpo"
    plain = True
    kind = "pairs"
    description = "OpenAI DPO preference JSONL"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, PreferencePair)
        if not chat_ready(item.prompt) or item.prompt[-1].role != "user":
            return []
        return [{"input": {"messages": messages(item.prompt)}, "preferred_output": assistant(item.chosen),
                 "non_preferred_output": assistant(item.rejected)}]


class TrlPreferenceWriter(Writer):
    """TRL preference (DPO/ORPO/reward): `{"prompt": [...], "chosen": [assistant], "rejected": [assistant]}`."""

    name = "trl_preference"
    plain = True
    kind = "pairs"
    description = "TRL preference, conversational prompt/chosen/rejected"

    def rows(self, item: Record | PreferencePair, split: str) -> list[dict[str, Any]]:
        assert isinstance(item, PreferencePair)
        if not chat_ready(item.prompt):
            return []
        return [{"prompt": messages(item.prompt), "chosen": assistant(item.chosen),
                 "rejected": assistant(item.rejected)}]
