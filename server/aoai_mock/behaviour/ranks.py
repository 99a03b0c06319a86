"""An encoding's ranks as the package ships them, prepared from OpenAI's published rank file, and read a
part at a time.

A published file (``base64(token) rank`` lines) becomes, all little-endian unsigned 32-bit integers but the
tokens' bytes::

    MAGIC, n                    the number of ordinary tokens (ranks 0 .. n-1)
    offsets[n + 1]              where each token's bytes begin in the blob, by rank
    blob[offsets[n]]            the tokens' bytes, in rank order
    bucket_starts[BUCKETS + 1]  where each bucket's ranks begin (see :func:`bucket_of`)
    bucket_ranks[n - 256]       the ranks of the tokens of two or more bytes, bucket by bucket, in rank order
    single_ranks[256]           the rank of each one-byte token, by its byte

Reading it is a few copies, not 200,000 objects: a look-up loads the bucket of its key (the tokens that begin
with the key's first three bytes, or are its two: a few on average, 2,531 at most), so a fresh server's first
short texts cost the buckets they touch. A byte pair encoder looks up only runs of its text's bytes, so
:meth:`RankTable.cover` loads the buckets of every run of two and three bytes of a text once, and the encoder
then reads :attr:`RankTable.known`, a plain dictionary. tiktoken's own tokenizer gets every rank
(:meth:`RankTable.to_dict`) when it is built.
"""

from __future__ import annotations

import base64
import sys
from array import array
from operator import itemgetter

__all__ = ["BUCKETS", "RankTable", "bucket_of", "prepare"]

MAGIC = b"aoai-bpe-ranks-1"
BUCKETS = 65521  # a prime


def bucket_of(first: int, second: int, third: int = 256) -> int:
    """The bucket of the tokens of two or more bytes that begin with these bytes (``third`` 256: of two)."""
    return ((first * 257 + second) * 257 + third) % BUCKETS


def _bucket(token: bytes) -> int:
    return bucket_of(token[0], token[1], token[2] if len(token) > 2 else 256)


def _uint32(values: list[int] | array[int]) -> bytes:
    table = array("I", values)
    if sys.byteorder == "big":
        table.byteswap()
    return table.tobytes()


def _read_uint32(raw: memoryview | bytes) -> array[int]:
    table = array("I")
    table.frombytes(raw)
    if sys.byteorder == "big":
        table.byteswap()
    return table


def prepare(official: bytes) -> bytes:
    """The prepared form of a published rank file (see the module's description)."""
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in official.splitlines())}
    tokens = sorted(ranks, key=ranks.__getitem__)
    if [ranks[token] for token in tokens] != list(range(len(tokens))):
        raise ValueError("the ranks are not 0 .. n-1")
    singles = [ranks.get(bytes([byte]), -1) for byte in range(256)]
    if -1 in singles:
        raise ValueError("not every byte is a token")
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token))
    buckets: list[list[int]] = [[] for _ in range(BUCKETS)]
    for rank, token in enumerate(tokens):
        if len(token) > 1:
            buckets[_bucket(token)].append(rank)
    starts = [0]
    for bucket in buckets:
        starts.append(starts[-1] + len(bucket))
    head = MAGIC + _uint32([len(tokens)])
    return b"".join(
        (head, _uint32(offsets), b"".join(tokens), _uint32(starts), _uint32([r for b in buckets for r in b]),
         _uint32(singles))
    )  # fmt: skip


class RankTable:
    """The ranks of one encoding's ordinary tokens, read from the prepared form a bucket at a time."""

    __slots__ = ("known", "_blob", "_offsets", "_ends", "_starts", "_bucket_ranks", "_loaded", "_size")

    def __init__(self, prepared: bytes) -> None:
        if not prepared.startswith(MAGIC):
            raise ValueError("not a prepared rank file")
        view = memoryview(prepared)
        at = len(MAGIC)
        n = self._size = _read_uint32(view[at : at + 4])[0]
        at += 4
        self._offsets = offsets = _read_uint32(view[at : at + 4 * (n + 1)])
        at += 4 * (n + 1)
        self._blob = prepared[at : at + offsets[n]]
        at += offsets[n]
        self._starts = _read_uint32(view[at : at + 4 * (BUCKETS + 1)])
        at += 4 * (BUCKETS + 1)
        self._bucket_ranks = _read_uint32(view[at : at + 4 * (n - 256)])
        at += 4 * (n - 256)
        singles = _read_uint32(view[at : at + 4 * 256])
        if at + 4 * 256 != len(prepared) or len(self._bucket_ranks) != self._starts[BUCKETS] != n - 256:
            raise ValueError("a prepared rank file of the wrong length")
        self._ends = offsets[1:]
        self.known: dict[bytes, int] = {bytes([byte]): rank for byte, rank in enumerate(singles)}
        self._loaded = bytearray(BUCKETS)  # 1 for each bucket in known

    def __len__(self) -> int:
        return self._size

    def cover(self, raw: bytes) -> None:
        """Load the buckets of every run of two and of three bytes of ``raw``: then :attr:`known` holds every
        token that is a run of its bytes."""
        loaded = self._loaded
        for first, second, third in set(zip(raw, raw[1:], (*raw[2:], 256))):
            for bucket in (bucket_of(first, second, third), bucket_of(first, second)):
                if not loaded[bucket]:
                    self._load(bucket)

    def _load(self, bucket: int) -> None:
        ranks = self._bucket_ranks[self._starts[bucket] : self._starts[bucket + 1]]
        if len(ranks) == 1:
            self.known[self.token_bytes(ranks[0])] = ranks[0]
        elif ranks:
            blob = self._blob
            found = map(blob.__getitem__, map(slice, itemgetter(*ranks)(self._offsets), itemgetter(*ranks)(self._ends)))
            self.known.update(zip(found, ranks))
        self._loaded[bucket] = 1

    def get(self, token: bytes) -> int | None:
        """The rank of ``token``, None if it is not one."""
        if len(token) > 1:
            bucket = _bucket(token)
            if not self._loaded[bucket]:
                self._load(bucket)
        return self.known.get(token)

    def token_bytes(self, rank: int) -> bytes | None:
        """The bytes of the token of ``rank``; None for a rank it has not."""
        if not 0 <= rank < self._size:
            return None
        return self._blob[self._offsets[rank] : self._offsets[rank + 1]]

    def tokens(self) -> list[bytes]:
        """Every token's bytes, in rank order."""
        return list(map(self._blob.__getitem__, map(slice, self._offsets, self._ends)))

    def to_dict(self) -> dict[bytes, int]:
        """Every rank, by token (what tiktoken's tokenizer is built from)."""
        return dict(zip(self.tokens(), range(self._size)))
