"""Preference pairs: corrections, pairwise annotations and thumbs up vs down on the same prompt.

- **correction**: the corrected answer is chosen over the original response.
- **pairwise**: an annotator compared this response with another one; the preferred one is chosen.
- **thumbs**: two uncorrected rows with the same prompt (same messages), one resolved good and one bad, in the
  same split (pairs never straddle splits, so no conversation leaks). Waiting rows are held in a bounded
  pending table keyed by the prompt's roles and contents; the oldest entries are evicted beyond `max_pending`
  and counted.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from feedback.services.datasets.records import Message, PreferencePair, Record

ORIGINS: tuple[str, ...] = ("correction", "pairwise", "thumbs")


def prompt_key(messages: tuple[Message, ...]) -> tuple[str, ...]:
    """The exact sequence of roles and contents of a prompt, as a hashable key."""
    parts = []
    for m in messages:
        parts.append(m.role)
        parts.append(m.content)
    return tuple(parts)


class PairBuilder:
    """Produces preference pairs from the record stream as it passes."""

    def __init__(self, origins: tuple[str, ...] = ORIGINS, max_pending: int = 20_000) -> None:
        unknown = set(origins) - set(ORIGINS)
        if unknown:
            raise ValueError(f"unknown pair origins: {sorted(unknown)}")
        self.origins = frozenset(origins)
        self.max_pending = max_pending
        # per waiting prompt only what a pair needs from the earlier row: label, response, id, conversation
        # (insertion-ordered: the oldest is evicted in O(1) with popitem(last=False))
        self._pending: OrderedDict[tuple[str, tuple[str, ...]], tuple[str, str, int, str]] = OrderedDict()
        self.counts: Counter[str] = Counter()

    def pairs_for(self, record: Record, split: str) -> list[PreferencePair]:
        """Pairs that this record completes (zero, one or several)."""
        out: list[PreferencePair] = []
        ids = (record.interaction_id,)
        if "correction" in self.origins and record.correction is not None \
                and record.correction.strip() != record.response.strip():
            out.append(PreferencePair(record.messages, record.correction, record.response, "correction", ids,
                                      record.conversation_id))
        if "pairwise" in self.origins:
            for judgement in record.pairwise:
                this, other = record.response, judgement.other_response
                chosen, rejected = (this, other) if judgement.preferred == "this" else (other, this)
                if chosen.strip() != rejected.strip():
                    out.append(PreferencePair(record.messages, chosen, rejected, "pairwise", ids,
                                              record.conversation_id))
        if "thumbs" in self.origins and record.correction is None:
            pair = self._thumbs(record, split)
            if pair is not None:
                out.append(pair)
        for pair in out:
            self.counts[pair.origin] += 1
        return out

    def _thumbs(self, record: Record, split: str) -> PreferencePair | None:
        key = (split, prompt_key(record.messages))
        waiting = self._pending.get(key)
        if waiting is None:
            self._pending[key] = (record.label, record.response, record.interaction_id, record.conversation_id)
            if len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.counts["thumbs_evicted"] += 1
            return None
        label, response, other_id, other_conversation = waiting
        if label == record.label or response.strip() == record.response.strip():
            return None
        del self._pending[key]
        if label == "good":
            chosen, rejected, conversation = response, record.response, other_conversation
        else:
            chosen, rejected, conversation = record.response, response, record.conversation_id
        return PreferencePair(record.messages, chosen, rejected, "thumbs", (other_id, record.interaction_id),
                              conversation)

    def figures(self) -> dict[str, int]:
        """Pairs produced per origin plus pending-table evictions."""
        keys = (*ORIGINS, "thumbs_evicted")
        return {k: self.counts.get(k, 0) for k in keys}
