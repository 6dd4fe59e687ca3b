"""Regular two-level fractional factorial designs 2^(k-p) for a screen of k two-level factors
(`study.sweep=fractional`): their runs, resolution and alias chains.

The generators are the standard minimum-aberration ones tabulated in NIST/SEMATECH's e-Handbook of
Statistical Methods (section 5.3.3.4.7, "Summary of useful fractional factorial designs") and in
Montgomery's Design and Analysis of Experiments (Table 8.14): the resolution IV or V fraction of 8 or
16 runs for 4 to 8 factors. Factors are lettered A, B, C, ... in the order the sweep names them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

GENERATORS = {4: ("D=ABC",), 5: ("E=ABCD",), 6: ("E=ABC", "F=BCD"), 7: ("E=ABC", "F=BCD", "G=ACD"),
              8: ("E=BCD", "F=ACD", "G=ABC", "H=ABD")}
LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Design:
    """A 2^(k-p) design: its generators, defining words, and runs (one sign per factor)."""

    k: int
    generators: tuple[str, ...]

    @property
    def p(self) -> int:
        return len(self.generators)

    def words(self) -> list[frozenset[str]]:
        """The defining relation: every product of the generators' words (I = ABCD ...)."""
        base = [frozenset(g.replace("=", "")) for g in self.generators]
        out = set()
        for r in range(1, len(base) + 1):
            for combo in itertools.combinations(base, r):
                word: frozenset[str] = frozenset()
                for w in combo:
                    word = word ^ w
                out.add(word)
        return sorted(out, key=lambda w: (len(w), sorted(w)))

    @property
    def resolution(self) -> int:
        return min(len(w) for w in self.words())

    def runs(self) -> list[tuple[int, ...]]:
        """Each run's signs (-1: the factor's reference, +1: its level), the base factors in
        standard order and the generated ones as their products."""
        base = LETTERS[: self.k - self.p]
        out = []
        for signs in itertools.product((-1, 1), repeat=len(base)):
            value = dict(zip(base, signs))
            for g in self.generators:
                letter, word = g.split("=")
                sign = 1
                for c in word:
                    sign *= value[c]
                value[letter] = sign
            out.append(tuple(value[c] for c in LETTERS[: self.k]))
        return out

    def aliases(self, effect: str) -> list[str]:
        """The effects `effect` (letters, e.g. "AB") is confounded with, shortest first."""
        mine = frozenset(effect)
        return sorted({"".join(sorted(mine ^ w)) for w in self.words()}, key=lambda e: (len(e), e))


def design(k: int) -> Design | None:
    """The tabulated design for k factors, or None where there is none here (k < 4 or k > 8)."""
    return Design(k, GENERATORS[k]) if k in GENERATORS else None
