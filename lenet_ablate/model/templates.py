"""Fixed +-1 codebooks for the RBF output layer of LeCun 1998."""

from __future__ import annotations

from typing import Callable

import torch

from lenet_ablate.registry import Registry

# LeCun 1998, Fig. 3: stylised 7x12 bitmaps of the digits (#: +1, .: -1), read row by row.
_DIGIT_ROWS = """
.#####. ...##.. .#####. ####### .#####. .#####. ..####. ####### .#####. .#####.
....... ..###.. ....... .....## ....... ....... .##.... .....## ##...## ##..###
..###.. .####.. .#####. ....##. ....... ####### ##..... .....## ##...## ##...##
.##.##. ...##.. ##...## ...##.. .##..## ##..... ##..... ....##. ##...## ##...##
##...## ...##.. #....## ..####. .##..## ##..... ######. ...##.. .#####. ##..###
##...## ...##.. ....##. .....## ###..## .####.. ###..## ...##.. ##...## .######
##...## ...##.. ..###.. .....## ##...## ..####. ##...## ..##... ##...## .....##
##...## ...##.. .##.... .....## ##...## .....## ##...## ..##... ##...## .....##
.##.##. ...##.. ##..... ##...## ##..### ##...## ###..## ..##... ##...## ....##.
..###.. .###### ####### .#####. .###### .#####. .#####. ..##... .#####. .####..
....... ....... ....... ....... .....## ....... ....... ....... ....... .......
....... ....... ....... ....... .....## ....... ....... ....... ....... .......
"""


def digit_codebook() -> torch.Tensor:
    """The paper's 10 digit bitmaps as a (10, 84) tensor of +-1."""
    rows = [line.split() for line in _DIGIT_ROWS.strip().splitlines()]
    codes = ["".join(row[d] for row in rows) for d in range(10)]
    return torch.tensor([[1.0 if c == "#" else -1.0 for c in code] for code in codes])


def paley_hadamard(q: int = 83) -> torch.Tensor:
    """A (q+1)x(q+1) Hadamard matrix by Paley's first construction (q prime, q = 3 mod 4),
    normalised so that row 0 is all ones."""
    squares = {(i * i) % q for i in range(1, q)}
    chi = [0] + [1 if k in squares else -1 for k in range(1, q)]
    n = q + 1
    s = torch.zeros(n, n)
    s[0, 1:] = 1
    s[1:, 0] = -1
    for i in range(q):
        for j in range(q):
            s[i + 1, j + 1] = chi[(j - i) % q]
    h = s + torch.eye(n)
    return h * h[0:1, :]  # flip columns so the first row is all ones (still Hadamard)


def hadamard_codebook(num_classes: int = 10) -> torch.Tensor:
    """Rows 1..num_classes of the 84x84 Paley Hadamard matrix (all-ones row left out):
    every pair of codes differs in exactly 42 of 84 positions."""
    return paley_hadamard(83)[1:num_classes + 1].clone()


def random_codebook(num_classes: int = 10, length: int = 84, seed: int = 0) -> torch.Tensor:
    """Seeded random +-1 codes."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (num_classes, length), generator=g).float() * 2 - 1


# head.templates: a name here, or the dotted path of a function (num_classes, seed) -> codebook.
TEMPLATES: Registry[Callable[[int, int], torch.Tensor]] = Registry("head.templates", {
    "digits": lambda n, seed: digit_codebook(),
    "hadamard": lambda n, seed: hadamard_codebook(n),
    "random": lambda n, seed: random_codebook(n, seed=seed),
})


def codebook(name: str, num_classes: int = 10, seed: int = 0, length: int = 84) -> torch.Tensor:
    """The (num_classes, 84) codebook `name` (head.templates) makes; `random` makes codes of any
    `length` (the features a network of one's own gives its head)."""
    book = random_codebook(num_classes, length, seed) if name == "random" else TEMPLATES.get(name)(num_classes, seed)
    if book.shape[0] != num_classes:
        raise ValueError(f"template set {name!r} has {book.shape[0]} codes, the data has {num_classes} classes")
    return book


def min_hamming_distance(book: torch.Tensor) -> int:
    """Smallest number of differing positions between any two codes of a +-1 codebook."""
    diff = (book[:, None, :] != book[None, :, :]).sum(-1)
    diff.fill_diagonal_(book.shape[1] + 1)
    return int(diff.min().item())
