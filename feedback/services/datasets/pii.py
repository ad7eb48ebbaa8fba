"""PII scrubbing: emails, phone numbers, Luhn-valid card numbers, IPv4/IPv6 and configurable extra patterns.

A batch of records is first screened as one translated byte string (`scrub_batch`): every built-in pattern
needs an `@`, a digit-separator-digit run, `+digit`, 13 digits in a row or two colons close together, so ASCII
texts without any of them cannot change and skip the regular expressions (extra patterns disable the screen).
One combined regular expression scans each remaining text once; candidates that need a semantic check (Luhn for cards,
`ipaddress` for IPs, digit count for phones) are validated in the replacement callback, and anything that
fails the check is left untouched. Each replacement is counted per kind so the manifest can report figures.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from feedback.services.datasets.dedup_texts import text_starts
from feedback.services.datasets.errors import DatasetError
from feedback.services.datasets.records import Message, PairwiseJudgement, Record

_BUILTIN: tuple[tuple[str, str], ...] = (
    ("email", r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("card", r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"),
    ("ipv6", r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"),
    ("ipv4", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)"),
    ("phone", r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?(?!\w)"
              r"|(?<![\w+])\+\d{8,15}(?!\w)"),
)
_GROUP = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HAS_DIGIT = re.compile(r"\d")
_MEMO_TEXT = 2000  # memoise texts up to this length
_MEMO_SIZE = 20_000  # entries before the memo is reset (bounded memory)
# screen: ASCII digits -> d, separators a phone/card/IPv4 can use -> s, `+ @ :` kept, every other byte -> x
_CLASSES = bytes(ord("d") if 48 <= b <= 57 else ord("s") if chr(b) in " .-" else b if chr(b) in "+@:"
                 else ord("x") for b in range(256))
_NEEDLES = (b"@", b"dsd", b"+d", b"d" * 13)  # email; phone, card, IPv4; phone; card without separators
_COLON_GAP = 5  # IPv6 needs `:h{0,4}:`: two colons at most 5 apart


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum used by payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _valid(kind: str, text: str) -> bool:
    if kind == "card":
        digits = re.sub(r"\D", "", text)
        return 13 <= len(digits) <= 19 and luhn_valid(digits)
    if kind in ("ipv4", "ipv6"):
        try:
            ipaddress.ip_address(text)
        except ValueError:
            return False
        return kind == "ipv4" or text.count(":") >= 2
    if kind == "phone":
        return 7 <= sum(c.isdigit() for c in text) <= 15
    return True


class PiiScrubber:
    """Replaces PII with `[KIND]` placeholders and counts replacements per kind."""

    def __init__(self, extra_patterns: dict[str, str] | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.counts: Counter[str] = Counter()
        self._hits: list[str] = []
        self._memo: dict[str, tuple[str, tuple[str, ...]]] = {}
        extra = []
        for name, pattern in sorted((extra_patterns or {}).items()):
            if not _GROUP.match(name) or name in dict(_BUILTIN):
                raise DatasetError(f"PII pattern name {name!r} must be a new lowercase identifier",
                                   details={"pattern": name})
            try:
                extra.append((name, re.compile(pattern)))
            except re.error as exc:
                raise DatasetError(f"PII pattern {name!r} is not a valid regular expression: {exc}",
                                   details={"pattern": name}) from exc
        builtin = dict(_BUILTIN)
        self.kinds = tuple(name for name, _ in extra) + tuple(builtin)
        # Passes gated by a cheap substring test: most texts skip most passes entirely.
        self._passes: list[tuple[str | None, re.Pattern[str]]] = [
            (None, re.compile(f"(?P<{name}>{regex.pattern})")) for name, regex in extra]
        self._passes.append(("@", re.compile(f"(?P<email>{builtin['email']})")))
        self._passes.append((":", re.compile(f"(?P<ipv6>{builtin['ipv6']})")))
        digits = "|".join(f"(?P<{k}>{builtin[k]})" for k in ("card", "ipv4", "phone"))
        self._digits = re.compile(f"(?=[0-9+(])(?:{digits})")

    def _replace(self, match: re.Match[str]) -> str:
        kind = match.lastgroup or ""
        text = match.group(0)
        if not _valid(kind, text):
            return text
        self._hits.append(kind)
        return f"[{kind.upper()}]"

    def scrub(self, text: str) -> str:
        """The text with every validated PII match replaced.

        Results of short texts are memoised with the kinds they replaced (system prompts and canned answers
        repeat); a repeat counts its replacements again, exactly as a fresh scan would.
        """
        if not self.enabled or not text:
            return text
        memo = self._memo.get(text)
        if memo is not None:
            if memo[1]:
                self.counts.update(memo[1])
            return memo[0]
        self._hits = []
        scrubbed = self._scan(text)
        if self._hits:
            self.counts.update(self._hits)
        if len(text) <= _MEMO_TEXT:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = (scrubbed, tuple(self._hits))
        return scrubbed

    def _scan(self, text: str) -> str:
        for needle, regex in self._passes:
            if needle is None or needle in text:
                text = regex.sub(self._replace, text)
        return self._digits.sub(self._replace, text) if _HAS_DIGIT.search(text) else text

    def scrub_batch(self, records: Sequence[Record]) -> list[Record]:
        """`scrub_record` of each record; records the screen proves clean are returned as they are."""
        if not self.enabled or len(self.kinds) > len(_BUILTIN):
            return [self.scrub_record(r) for r in records]
        # every text of the batch, by field, with the index of the record it belongs to
        texts = [m.content for r in records for m in r.messages]
        owners = [np.repeat(np.arange(len(records)), [len(r.messages) for r in records])]
        texts += [r.response for r in records]
        owners.append(np.arange(len(records)))
        extra = [(i, r.correction) for i, r in enumerate(records) if r.correction is not None]
        extra += [(i, j.other_response) for i, r in enumerate(records) if r.pairwise for j in r.pairwise]
        if extra:
            texts += [text for _, text in extra]
            owners.append(np.fromiter((i for i, _ in extra), dtype=np.int64, count=len(extra)))
        owner = np.concatenate(owners)
        joined = "\0".join(texts)
        flagged: set[int] = set()
        if not joined.isascii():  # non-ASCII digits also match `\d`: such texts are not screened
            foreign = [i for i, text in enumerate(texts) if not text.isascii()]
            flagged.update(owner[foreign].tolist())
            for i in foreign:
                texts[i] = ""
            joined = "\0".join(texts)
        hits = np.fromiter(_hits(joined.encode("ascii").translate(_CLASSES)), dtype=np.int64)
        if hits.size:
            starts = text_starts(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))  # in `joined`
            flagged.update(owner[np.searchsorted(starts, hits, side="right") - 1].tolist())
        return [self.scrub_record(r) if i in flagged else r for i, r in enumerate(records)]

    def scrub_record(self, record: Record) -> Record:
        """A copy of the record with every text field (messages, response, correction, pairs) scrubbed."""
        if not self.enabled:
            return record
        scrub = self.scrub
        messages = tuple(Message(m.role, scrub(m.content)) for m in record.messages)
        pairwise = tuple(PairwiseJudgement(scrub(p.other_response), p.preferred, p.source)
                         for p in record.pairwise)
        correction = scrub(record.correction) if record.correction is not None else None
        response = scrub(record.response)
        if response == record.response and correction == record.correction and messages == record.messages \
                and pairwise == record.pairwise:
            return record
        return replace(record, messages=messages, response=response, correction=correction,
                       pairwise=pairwise)

    def figures(self) -> dict[str, int]:
        """Replacement counts for every kind (zero included), in a stable order."""
        return {kind: self.counts.get(kind, 0) for kind in sorted(self.kinds)}


def _hits(mapped: bytes) -> Iterator[int]:
    """Positions in the class-mapped batch where a built-in PII pattern could start matching."""
    for needle in _NEEDLES:
        position = mapped.find(needle)
        while position >= 0:
            yield position
            position = mapped.find(needle, position + 1)
    previous = -_COLON_GAP - 1
    position = mapped.find(b":")
    while position >= 0:
        if position - previous <= _COLON_GAP:
            yield position  # both colons sit in one text unless a separator lies between: then a false alarm
        previous = position
        position = mapped.find(b":", position + 1)
