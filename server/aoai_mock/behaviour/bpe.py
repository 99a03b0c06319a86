"""A byte-pair encoder in pure Python over an encoding's ranks: tiktoken's own algorithm (its
``_educational`` module, and the merge loop of its Rust ``CoreBPE``), for the first short texts a server
counts, before the tokenizer proper is built (:mod:`aoai_mock.behaviour.tokens`).

Building tiktoken's ``CoreBPE`` for o200k takes about 0.2 s; this needs only the ranks, and gives the same
token ids: the text is pre-split with the encoding's pattern, a piece that is a token is that token, and any
other piece's bytes are merged, the pair of lowest rank first (the leftmost of equal ones), until no pair is a
token. Only texts of the characters in :data:`SAFE_TEXT` are encoded here: the ``regex`` module and tiktoken's
Rust regex engine know different Unicode versions, and classify the characters of the latest ones differently
(U+0558, U+1ACF... of Unicode 16 and 17); every character of SAFE_TEXT is checked against tiktoken by
``tests/behaviour/test_bpe.py``. About 5 us a character, twenty times tiktoken's time: for short texts only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import regex

from aoai_mock.behaviour.ranks import RankTable

__all__ = ["SAFE_TEXT", "SmallEncoder"]

# Latin, IPA, Greek, Cyrillic and the combining marks (U+0000-U+052F), and general punctuation (U+2000-U+206F:
# curly quotes, dashes, the ellipsis).
SAFE_TEXT = re.compile("[\x00-\u052f\u2000-\u206f]*")


class SmallEncoder:
    """Encodes ordinary text (special tokens' text as text) as tiktoken's ``encode_ordinary`` does."""

    __slots__ = ("_pattern", "_table")

    def __init__(self, pattern: str, table: RankTable) -> None:
        self._pattern = regex.compile(pattern)
        self._table = table

    @staticmethod
    def takes(text: str) -> bool:
        """Whether ``text`` is one this encoder encodes as tiktoken does (its characters are in SAFE_TEXT)."""
        return SAFE_TEXT.fullmatch(text) is not None

    def encode(self, text: str) -> list[int]:
        table = self._table
        table.cover(text.encode("utf-8"))  # every key looked up below is a run of the text's bytes
        ranks = table.known
        ids: list[int] = []
        for piece in self._pattern.findall(text):
            raw = piece.encode("utf-8")
            token = ranks.get(raw)
            if token is not None:
                ids.append(token)
            else:
                ids.extend(_merge(raw, ranks))
        return ids

    def token_bytes(self, token: int) -> bytes | None:
        """The bytes of an ordinary token; None for a special token or an id it does not have."""
        return self._table.token_bytes(token)


def _merge(raw: bytes, ranks: Mapping[bytes, int]) -> list[int]:
    """The bytes of one piece, merged pair by pair: the lowest-ranked pair first, the leftmost of equals."""
    parts = [raw[i : i + 1] for i in range(len(raw))]
    while len(parts) > 1:
        best = -1
        at = 0
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best < 0 or rank < best):
                best, at = rank, i
        if best < 0:
            break
        parts[at : at + 2] = [parts[at] + parts[at + 1]]
    return [ranks[part] for part in parts]
