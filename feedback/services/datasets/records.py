"""Value types that flow through the dataset pipeline: feedback signals in, resolved records and pairs out.

Everything here is a frozen dataclass so a record can be passed through curation steps without any step
mutating what another step sees; steps that change text (PII scrubbing) return a new record with `replace`.
Records cross from the export's reader process as columns (`wire`); `__reduce__` still makes pickling a
record rebuild it through its constructor (the default for slotted classes sets each slot from Python, several
times slower). `new_message` and `new_record` build the hot-path objects by setting their slots directly: the
generated `__init__` of a frozen dataclass calls `object.__setattr__` per field, twice as slow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Label = Literal["good", "bad"]
Source = Literal["annotator", "end_user", "model"]
SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; `content` is always a string so every output column keeps one type."""

    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        """The `{"role", "content"}` form shared by OpenAI, TRL, inspect-ai and evals."""
        return {"role": self.role, "content": self.content}

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return Message, (self.role, self.content)


@dataclass(frozen=True, slots=True)
class FeedbackSignal:
    """One current (non-superseded) feedback row or annotation on an interaction.

    `score` is the raw value on the key's scale (`scale_min`..`scale_max`; thumbs are -1..1). A retracted
    row has `retracted=True` and is ignored by label resolution.
    """

    source: Source
    score: float | None
    scale_min: float = -1.0
    scale_max: float = 1.0
    correction: str | None = None
    reasons: tuple[str, ...] = ()
    voter: str | None = None
    created_at: datetime | None = None
    feedback_id: str = ""
    retracted: bool = False


@dataclass(frozen=True, slots=True)
class Provenance:
    """How a row's label was decided: which source tier, which rule, how many votes, how much agreement."""

    source: Source
    rule: Literal["single", "majority", "unanimous"]
    votes: int
    agreeing: int
    correction_source: Source | None = None

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return Provenance, (self.source, self.rule, self.votes, self.agreeing, self.correction_source)

    @property
    def agreement(self) -> float:
        """Share of the deciding tier's votes that agree with the resolved label."""
        return self.agreeing / self.votes if self.votes else 0.0

    def tag(self) -> str:
        """Compact text form, e.g. `annotator:majority` or `end_user:single+correction(annotator)`."""
        base = f"{self.source}:{self.rule}"
        return f"{base}+correction({self.correction_source})" if self.correction_source else base


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of label resolution for one interaction."""

    label: Label
    rating: float | None
    correction: str | None
    provenance: Provenance
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PairwiseJudgement:
    """An annotator compared this interaction's response with another response to the same prompt."""

    other_response: str
    preferred: Literal["this", "other"]
    source: Source = "annotator"

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return PairwiseJudgement, (self.other_response, self.preferred, self.source)


@dataclass(frozen=True, slots=True)
class Record:
    """One resolved interaction ready to be curated and written."""

    interaction_id: int
    conversation_id: str
    messages: tuple[Message, ...]
    response: str
    model: str
    model_version: str
    created_at: datetime
    label: Label
    rating: float | None
    correction: str | None
    provenance: Provenance
    reasons: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    pairwise: tuple[PairwiseJudgement, ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return Record, (self.interaction_id, self.conversation_id, self.messages, self.response, self.model,
                        self.model_version, self.created_at, self.label, self.rating, self.correction,
                        self.provenance, self.reasons, self.tags, self.pairwise, self.metadata)

    @property
    def ideal(self) -> str | None:
        """The answer the model should have given: the correction, else the response when it was good."""
        if self.correction is not None:
            return self.correction
        return self.response if self.label == "good" else None


@dataclass(frozen=True, slots=True)
class PreferencePair:
    """A chosen/rejected pair of assistant answers to the same prompt."""

    prompt: tuple[Message, ...]
    chosen: str
    rejected: str
    origin: Literal["correction", "pairwise", "thumbs"]
    interaction_ids: tuple[int, ...]
    conversation_id: str


_new = object.__new__
_MESSAGE_SLOTS = (Message.role.__set__, Message.content.__set__)  # type: ignore[attr-defined]
(_s_id, _s_conversation, _s_messages, _s_response, _s_model, _s_version, _s_created, _s_label, _s_rating,
 _s_correction, _s_provenance, _s_reasons, _s_tags, _s_pairwise, _s_metadata) = (
    getattr(Record, name).__set__ for name in Record.__slots__)  # type: ignore[attr-defined]


def new_message(role: str, content: str) -> Message:
    """`Message(role, content)`, built faster."""
    message = _new(Message)
    set_role, set_content = _MESSAGE_SLOTS
    set_role(message, role)
    set_content(message, content)
    return message


def new_record(interaction_id: int, conversation_id: str, messages: tuple[Message, ...], response: str, model: str,
               model_version: str, created_at: datetime, label: Label, rating: float | None,
               correction: str | None, provenance: Provenance, reasons: tuple[str, ...], tags: tuple[str, ...],
               pairwise: tuple[PairwiseJudgement, ...], metadata: Mapping[str, object]) -> Record:
    """`Record(...)` with every field given, built faster."""
    record = _new(Record)
    _s_id(record, interaction_id)
    _s_conversation(record, conversation_id)
    _s_messages(record, messages)
    _s_response(record, response)
    _s_model(record, model)
    _s_version(record, model_version)
    _s_created(record, created_at)
    _s_label(record, label)
    _s_rating(record, rating)
    _s_correction(record, correction)
    _s_provenance(record, provenance)
    _s_reasons(record, reasons)
    _s_tags(record, tags)
    _s_pairwise(record, pairwise)
    _s_metadata(record, metadata)
    return record
