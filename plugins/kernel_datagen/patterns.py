"""Text patterns: ``"INV-{seq:06d}"``, ``"[A-Z]{3}-[0-9]{4}"``, made for all rows at once.

A pattern is literal text, ``{seq}`` or ``{seq:0Nd}`` (the row's number, zero-padded to N digits), and
character classes ``[...]`` (ranges such as ``A-Z`` and single characters, ASCII) repeated ``{n}`` times
(once without). ``\\`` makes the next character literal. Every part but ``{seq}`` has a fixed length, so
two different numbers always give two different texts: a pattern with ``{seq}`` can be a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_SEQ = re.compile(r"\{seq(?::0(\d+)d)?\}")
_COUNT = re.compile(r"\{(\d+)\}")


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Seq:
    width: int  # 0: as many digits as the number has


@dataclass(frozen=True, slots=True)
class Chars:
    alphabet: str
    count: int


Part = Text | Seq | Chars


def parse(pattern: str) -> list[Part]:
    """The parts of ``pattern``; ``ValueError`` saying what is wrong and where."""
    parts: list[Part] = []
    text: list[str] = []
    at = 0

    def flush() -> None:
        if text:
            parts.append(Text("".join(text)))
            text.clear()

    while at < len(pattern):
        ch = pattern[at]
        if ch == "\\":
            if at + 1 == len(pattern):
                raise ValueError("the pattern ends with '\\'")
            text.append(pattern[at + 1])
            at += 2
        elif ch == "{":
            seq = _SEQ.match(pattern, at)
            if seq is None:
                raise ValueError(f"'{{' at character {at + 1} opens neither {{seq}} nor {{seq:0Nd}} "
                                 "(write \\{ for the character)")
            flush()
            parts.append(Seq(int(seq.group(1) or 0)))
            at = seq.end()
        elif ch == "[":
            end = pattern.find("]", at + 1)
            if end < 0:
                raise ValueError(f"'[' at character {at + 1} is never closed")
            alphabet = _alphabet(pattern[at + 1:end], at)
            at = end + 1
            count = _COUNT.match(pattern, at)
            if count is not None:
                at = count.end()
            n = int(count.group(1)) if count is not None else 1
            if n < 1:
                raise ValueError(f"the class at character {at + 1} is repeated {n} times")
            flush()
            parts.append(Chars(alphabet, n))
        elif ch in "]}":
            raise ValueError(f"'{ch}' at character {at + 1} closes nothing (write \\{ch} for the character)")
        else:
            text.append(ch)
            at += 1
    flush()
    return parts


def _alphabet(body: str, at: int) -> str:
    chars: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if low > high:
                raise ValueError(f"the range {low}-{high} at character {at + 2 + i} is backwards")
            chars.extend(chr(c) for c in range(ord(low), ord(high) + 1))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    if not chars:
        raise ValueError(f"the class at character {at + 1} is empty")
    if any(ord(c) > 126 or ord(c) < 32 for c in chars):
        raise ValueError(f"the class at character {at + 1} holds a character that is not printable ASCII")
    return "".join(dict.fromkeys(chars))


def has_seq(parts: list[Part]) -> bool:
    return any(isinstance(p, Seq) for p in parts)


def regex(parts: list[Part]) -> str:
    """A regular expression that the whole of every generated value matches, and no malformed one."""
    out = []
    for part in parts:
        if isinstance(part, Text):
            out.append(re.escape(part.text))
        elif isinstance(part, Seq):
            out.append(rf"\d{{{part.width},}}" if part.width > 1 else r"\d+")
        else:
            out.append("[" + "".join(re.escape(c) for c in part.alphabet) + f"]{{{part.count}}}")
    return "^" + "".join(out) + "$"


def alphabet(parts: list[Part]) -> set[str]:
    """Every character a generated value can hold."""
    chars = set("0123456789") if has_seq(parts) else set()
    for part in parts:
        if isinstance(part, Text):
            chars.update(part.text)
        elif isinstance(part, Chars):
            chars.update(part.alphabet)
    return chars


def generate(parts: list[Part], seq: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.bytes_]:
    """One UTF-8 text per number of ``seq``."""
    import numpy as np

    n = seq.size
    out: NDArray[np.bytes_] = np.zeros(n, "S1")
    if n == 0:  # numpy's text functions fail on empty arrays (no orphans drawn at this scale, say)
        return out
    for part in parts:
        if isinstance(part, Text):
            piece: NDArray[np.bytes_] = np.full(n, part.text.encode(), dtype=f"S{len(part.text.encode())}")
        elif isinstance(part, Seq):
            piece = seq.astype("S")
            if part.width > 1:
                piece = np.char.zfill(piece, part.width)
        else:
            table = np.frombuffer(part.alphabet.encode("ascii"), np.uint8)
            codes = table[rng.integers(0, table.size, size=(n, part.count))]
            piece = np.ascontiguousarray(codes).view(f"S{part.count}").reshape(n)
        out = np.char.add(out, piece)
    return out
