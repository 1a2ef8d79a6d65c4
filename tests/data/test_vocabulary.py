import pytest

from ganlens.data.vocabulary import Vocabulary


def test_index_name_category_round_trip():
    vocab = Vocabulary([("sky", "object"), ("door", "part"), ("brick", "material")])
    assert [vocab.index(c.name) for c in vocab] == [1, 2, 3]
    assert [vocab.name(i) for i in range(len(vocab))] == ["-", "sky", "door", "brick"]
    assert vocab.categories == ("none", "object", "part", "material")
    assert vocab.in_category("material") == [3]
    assert "door" in vocab and "tree" not in vocab


def test_unknown_concept_lists_known_ones():
    with pytest.raises(KeyError, match="unknown concept 'tree'; known concepts: sky, door"):
        Vocabulary([("sky", "object"), ("door", "part")]).index("tree")


def test_invalid_vocabularies_are_rejected():
    with pytest.raises(ValueError, match="appears more than once"):
        Vocabulary([("sky", "object"), ("sky", "part")])
    with pytest.raises(ValueError, match="category 'colour'; allowed: object, part, material"):
        Vocabulary([("red", "colour")])
    with pytest.raises(KeyError, match="out of range"):
        Vocabulary([("sky", "object")]).name(2)
