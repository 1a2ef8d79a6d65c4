"""Concept vocabularies: index <-> name <-> category, with index 0 meaning "no label".

Segmentations in ganlens are ``[K, H, W]`` integer label layers whose values index one shared
vocabulary. A pixel may carry several labels, one per layer (a door pixel is "building" in the
object layer and "door" in the part layer), and dissection counts it for every label it carries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

CATEGORIES = ("object", "part", "material")


@dataclass(frozen=True)
class Concept:
    """One named concept of a vocabulary.

    Args:
        index: Label value used in segmentations (>= 1; 0 is reserved for "no label").
        name: Unique human-readable name, e.g. ``"door"``.
        category: One of ``"object"``, ``"part"`` or ``"material"``.
    """

    index: int
    name: str
    category: str


class Vocabulary:
    """An ordered set of concepts addressed by index or name; index 0 is "no label".

    Args:
        concepts: ``(name, category)`` pairs; the i-th pair gets index ``i + 1``.

    Raises:
        ValueError: If a name repeats or a category is not one of :data:`CATEGORIES`.

    Example:
        >>> vocab = Vocabulary([("sky", "object"), ("door", "part")])
        >>> vocab.index("door"), vocab.name(1), vocab.category("door")
        (2, 'sky', 'part')
        >>> len(vocab), vocab.names
        (3, ('-', 'sky', 'door'))
    """

    NONE = "-"

    def __init__(self, concepts: Sequence[tuple[str, str]]) -> None:
        self._concepts = [Concept(0, self.NONE, "none")]
        self._by_name: dict[str, Concept] = {}
        for offset, (name, category) in enumerate(concepts):
            if category not in CATEGORIES:
                raise ValueError(
                    f"concept {name!r} has category {category!r}; allowed: {', '.join(CATEGORIES)}"
                )
            if name in self._by_name or name == self.NONE:
                raise ValueError(f"concept name {name!r} appears more than once")
            concept = Concept(offset + 1, name, category)
            self._concepts.append(concept)
            self._by_name[name] = concept

    def __len__(self) -> int:
        """Number of label values including 0 ("no label")."""
        return len(self._concepts)

    def __iter__(self) -> Iterator[Concept]:
        """Iterate over the labelled concepts (index 0 excluded)."""
        return iter(self._concepts[1:])

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is a concept name of this vocabulary."""
        return name in self._by_name

    def __repr__(self) -> str:
        """Compact listing such as ``Vocabulary(sky:object, door:part)``."""
        return "Vocabulary(" + ", ".join(f"{c.name}:{c.category}" for c in self) + ")"

    @property
    def names(self) -> tuple[str, ...]:
        """Names by index, with ``"-"`` at index 0."""
        return tuple(c.name for c in self._concepts)

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories by index, with ``"none"`` at index 0."""
        return tuple(c.category for c in self._concepts)

    def concept(self, key: int | str) -> Concept:
        """Look a concept up by index or name.

        Raises:
            KeyError: If the name is unknown (the message lists the known names) or the index is
                out of range.
        """
        if isinstance(key, str):
            if key not in self._by_name:
                known = ", ".join(self._by_name)
                raise KeyError(f"unknown concept {key!r}; known concepts: {known}")
            return self._by_name[key]
        if not 0 <= key < len(self._concepts):
            raise KeyError(f"concept index {key} out of range 0..{len(self._concepts) - 1}")
        return self._concepts[key]

    def index(self, name: str) -> int:
        """Label value of the concept called ``name``."""
        return self.concept(name).index

    def name(self, index: int) -> str:
        """Name of the concept with label value ``index``."""
        return self.concept(index).name

    def category(self, key: int | str) -> str:
        """Category of a concept given by index or name."""
        return self.concept(key).category

    def in_category(self, category: str) -> list[int]:
        """Label values of all concepts in ``category``.

        Example:
            >>> Vocabulary([("sky", "object"), ("door", "part")]).in_category("part")
            [2]
        """
        if category not in CATEGORIES:
            raise ValueError(f"category {category!r} unknown; allowed: {', '.join(CATEGORIES)}")
        return [c.index for c in self if c.category == category]


SCENE_VOCABULARY = Vocabulary(
    [
        ("sky", "object"),
        ("cloud", "object"),
        ("mountain", "object"),
        ("water", "object"),
        ("grass", "object"),
        ("road", "object"),
        ("tree", "object"),
        ("building", "object"),
        ("wall", "part"),
        ("roof", "part"),
        ("door", "part"),
        ("window", "part"),
        ("dome", "part"),
        ("trunk", "part"),
        ("foliage", "part"),
        ("brick", "material"),
        ("wood", "material"),
    ]
)
"""The scene world's concepts: label values 1..17 in three layers (object, part, material)."""
LAYER_NAMES = ("object", "part", "material")
"""Names of the scene world's label layers, in order."""
