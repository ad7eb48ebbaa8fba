"""Label resolution: turn an interaction's feedback rows into one label with recorded provenance.

Precedence (documented in docs/datasets.md and recorded on every row):

1. **Annotator over end user over model.** Only the highest source tier that cast at least one verdict
   decides the label; lower tiers are ignored entirely.
2. **Majority over single.** Within the deciding tier every voter counts once (their newest row); the label is
   the strict majority of the good/bad votes. A tie yields no label (the row is left out and counted as
   unresolved). The rule recorded is `single` (one vote), `unanimous` (several, all agree) or `majority`.
3. **Correction over verdict.** If any tier supplied a correction, the correction becomes the row's ideal
   answer and the original response is labelled `bad`, whatever the verdicts said (a response someone had to
   rewrite is not the answer to train towards). The correction from the highest tier wins, newest first.

Ratings are normalised to 0..1 on the key's scale; above 0.5 is a good vote, below is bad, exactly 0.5 abstains.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from feedback.services.datasets.records import FeedbackSignal, Label, Provenance, Resolution, Source

TIERS: tuple[Source, ...] = ("annotator", "end_user", "model")
_EPOCH = datetime.min


def normalise(signal: FeedbackSignal) -> float | None:
    """The signal's score mapped to 0..1 on its scale, or None when it has no score."""
    return normalise_score(signal.score, signal.scale_min, signal.scale_max)


def normalise_score(score: float | None, low: float, high: float) -> float | None:
    """A raw score mapped to 0..1 on the scale `low`..`high`, or None when there is no score."""
    if score is None or high <= low:
        return None
    value = (float(score) - low) / (high - low)
    return min(1.0, max(0.0, value))


def _vote(signal: FeedbackSignal) -> Label | None:
    value = normalise(signal)
    if value is None or value == 0.5:
        return None
    return "good" if value > 0.5 else "bad"


def _sort_key(signal: FeedbackSignal) -> tuple[datetime, str]:
    created = signal.created_at.replace(tzinfo=None) if signal.created_at else _EPOCH
    return created, signal.feedback_id


def _newest_per_voter(signals: list[FeedbackSignal]) -> list[FeedbackSignal]:
    """Keep each voter's newest row; rows without a voter id count as separate voters."""
    latest: dict[str, FeedbackSignal] = {}
    for index, signal in enumerate(sorted(signals, key=_sort_key)):
        latest[signal.voter if signal.voter is not None else f"\0anon{index}"] = signal
    return sorted(latest.values(), key=_sort_key)


_PROVENANCE: dict[tuple[Source, bool, bool], Provenance] = {}


def resolve_single(source: Source, score: float | None, low: float, high: float, correction: str | None,
                   reasons: tuple[str, ...]) -> Resolution | None:
    """`resolve_label` of exactly one live signal, from its fields (no `FeedbackSignal` needed)."""
    rating = normalise_score(score, low, high)
    vote: Label | None = None if rating is None or rating == 0.5 else ("good" if rating > 0.5 else "bad")
    if not (correction and correction.strip()):
        correction = None
    if vote is None and correction is None:
        return None
    key = (source, vote is not None, correction is not None)
    provenance = _PROVENANCE.get(key)
    if provenance is None:  # immutable and few distinct values: shared
        provenance = _PROVENANCE[key] = Provenance(source, "single", 1 if vote else 0, 1 if vote else 0,
                                                   source if correction else None)
    label: Label = "bad" if correction is not None else vote  # type: ignore[assignment]
    return Resolution(label, None if rating is None or vote is None else round(rating, 6), correction,
                      provenance, tuple(sorted(set(reasons))) if vote else ())


def resolve_label(signals: Iterable[FeedbackSignal]) -> Resolution | None:
    """Resolve one interaction's feedback rows to a label with provenance, or None when nothing decides it.

    Pure function: the same rows in any order give the same result.
    """
    live = [s for s in signals if not s.retracted]
    if len(live) == 1:  # fast path: one signal (the common case at scale)
        only = live[0]
        return resolve_single(only.source, only.score, only.scale_min, only.scale_max, only.correction,
                              only.reasons)
    by_tier = {tier: _newest_per_voter([s for s in live if s.source == tier]) for tier in TIERS}

    correction: str | None = None
    correction_source: Source | None = None
    for tier in TIERS:
        corrected = [s for s in by_tier[tier] if s.correction and s.correction.strip()]
        if corrected:
            correction, correction_source = corrected[-1].correction, tier
            break

    for tier in TIERS:
        voted = [(s, _vote(s)) for s in by_tier[tier]]
        voted = [(s, v) for s, v in voted if v is not None]
        if not voted:
            continue
        good = sum(1 for _, v in voted if v == "good")
        bad = len(voted) - good
        if good == bad:
            if correction is None:
                return None
            label: Label = "bad"
            agreeing = bad
        else:
            label = "good" if good > bad else "bad"
            agreeing = max(good, bad)
        rule = "single" if len(voted) == 1 else ("unanimous" if agreeing == len(voted) else "majority")
        ratings = [normalise(s) for s, _ in voted]
        rating = round(sum(r for r in ratings if r is not None) / len(ratings), 6)
        reasons = tuple(sorted({r for s, _ in voted for r in s.reasons}))
        if correction is not None:
            label = "bad"
        provenance = Provenance(tier, rule, len(voted), agreeing, correction_source)
        return Resolution(label, rating, correction, provenance, reasons)

    if correction is not None and correction_source is not None:
        provenance = Provenance(correction_source, "single", 0, 0, correction_source)
        return Resolution("bad", None, correction, provenance, ())
    return None
