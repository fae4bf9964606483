"""Geography: the 98 municipalities, their regions and sizes, and the named housing areas.

Municipality codes and regions are DST's (since 2007); sizes are rounded
populations around 2010 and only used as relative weights. Named areas are the
two treated areas in Aalborg (851) plus a pool of comparison and placebo
social-housing areas; their names are fictional except Kildeparken and
Sundparken.

Examples
--------
>>> len(MUNICIPALITIES)
98
>>> MUNICIPALITIES[851].region
81
>>> round(sum(m.size for m in MUNICIPALITIES.values()) / 1e6, 1)
5.6
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["AREA_HOST_MUNICIPALITIES", "MUNICIPALITIES", "Area", "AreaType", "Municipality", "kom_arrays"]


@dataclass(frozen=True)
class Municipality:
    """One municipality: DST code, name, region code (81-85) and approximate population."""

    code: int
    name: str
    region: int
    size: int


_RAW: tuple[tuple[int, str, int, int], ...] = (
    # Hovedstaden (84)
    (101, "København", 84, 540), (147, "Frederiksberg", 84, 100), (151, "Ballerup", 84, 48),
    (153, "Brøndby", 84, 34), (155, "Dragør", 84, 14), (157, "Gentofte", 84, 72),
    (159, "Gladsaxe", 84, 65), (161, "Glostrup", 84, 21), (163, "Herlev", 84, 27),
    (165, "Albertslund", 84, 28), (167, "Hvidovre", 84, 51), (169, "Høje-Taastrup", 84, 48),
    (173, "Lyngby-Taarbæk", 84, 53), (175, "Rødovre", 84, 37), (183, "Ishøj", 84, 21),
    (185, "Tårnby", 84, 41), (187, "Vallensbæk", 84, 15), (190, "Furesø", 84, 38),
    (201, "Allerød", 84, 24), (210, "Fredensborg", 84, 39), (217, "Helsingør", 84, 61),
    (219, "Hillerød", 84, 48), (223, "Hørsholm", 84, 24), (230, "Rudersdal", 84, 55),
    (240, "Egedal", 84, 42), (250, "Frederikssund", 84, 44), (260, "Halsnæs", 84, 31),
    (270, "Gribskov", 84, 41), (400, "Bornholm", 84, 42),
    # Sjælland (85)
    (253, "Greve", 85, 48), (259, "Køge", 85, 57), (265, "Roskilde", 85, 83),
    (269, "Solrød", 85, 21), (306, "Odsherred", 85, 33), (316, "Holbæk", 85, 70),
    (320, "Faxe", 85, 35), (326, "Kalundborg", 85, 49), (329, "Ringsted", 85, 33),
    (330, "Slagelse", 85, 78), (336, "Stevns", 85, 22), (340, "Sorø", 85, 30),
    (350, "Lejre", 85, 27), (360, "Lolland", 85, 46), (370, "Næstved", 85, 81),
    (376, "Guldborgsund", 85, 62), (390, "Vordingborg", 85, 46),
    # Syddanmark (83)
    (410, "Middelfart", 83, 37), (420, "Assens", 83, 41), (430, "Faaborg-Midtfyn", 83, 52),
    (440, "Kerteminde", 83, 24), (450, "Nyborg", 83, 32), (461, "Odense", 83, 190),
    (479, "Svendborg", 83, 59), (480, "Nordfyns", 83, 30), (482, "Langeland", 83, 13),
    (492, "Ærø", 83, 7), (510, "Haderslev", 83, 56), (530, "Billund", 83, 26),
    (540, "Sønderborg", 83, 77), (550, "Tønder", 83, 39), (561, "Esbjerg", 83, 115),
    (563, "Fanø", 83, 3), (573, "Varde", 83, 50), (575, "Vejen", 83, 43),
    (580, "Aabenraa", 83, 60), (607, "Fredericia", 83, 50), (621, "Kolding", 83, 89),
    (630, "Vejle", 83, 107),
    # Midtjylland (82)
    (615, "Horsens", 82, 83), (657, "Herning", 82, 86), (661, "Holstebro", 82, 57),
    (665, "Lemvig", 82, 21), (671, "Struer", 82, 22), (706, "Syddjurs", 82, 42),
    (707, "Norddjurs", 82, 38), (710, "Favrskov", 82, 47), (727, "Odder", 82, 22),
    (730, "Randers", 82, 95), (740, "Silkeborg", 82, 89), (741, "Samsø", 82, 4),
    (746, "Skanderborg", 82, 57), (751, "Aarhus", 82, 310), (756, "Ikast-Brande", 82, 41),
    (760, "Ringkøbing-Skjern", 82, 58), (766, "Hedensted", 82, 46), (779, "Skive", 82, 48),
    (791, "Viborg", 82, 93),
    # Nordjylland (81)
    (773, "Morsø", 81, 22), (787, "Thisted", 81, 45), (810, "Brønderslev", 81, 36),
    (813, "Frederikshavn", 81, 62), (820, "Vesthimmerlands", 81, 38), (825, "Læsø", 81, 2),
    (840, "Rebild", 81, 29), (846, "Mariagerfjord", 81, 43), (849, "Jammerbugt", 81, 39),
    (851, "Aalborg", 81, 198), (860, "Hjørring", 81, 66),
)  # fmt: skip

#: All 98 municipalities by code (sizes in persons).
MUNICIPALITIES: dict[int, Municipality] = {
    code: Municipality(code, name, region, size * 1000) for code, name, region, size in _RAW
}

#: Municipalities that host comparison/placebo areas (cycled in this order).
AREA_HOST_MUNICIPALITIES: tuple[int, ...] = (
    101, 751, 461, 561, 630, 607, 621, 615, 730, 169, 165, 183, 253, 217, 330,
    316, 370, 540, 510, 657, 167, 159, 851, 101, 751, 461, 376, 360, 813, 791,
)  # fmt: skip

_NAME_STEMS = (
    "Egeparken", "Birkevang", "Lindehøj", "Bøgeparken", "Ahornhaven", "Elmegården", "Askeparken",
    "Pilevangen", "Rønnebo", "Hasselhøj", "Kastanjeparken", "Poppelgården", "Tjørnevang",
    "Granparken", "Fyrrehaven", "Lærkevej-bebyggelsen", "Mågeparken", "Svanegården", "Stærevang",
    "Engparken", "Mosegården", "Bakkehaven", "Dalparken", "Skrænten", "Vestervang", "Østerhøj",
    "Nørreparken", "Søndergården", "Havrevang", "Rugparken", "Byggevang", "Kløverparken",
    "Hvedegården", "Solsikkehaven", "Valmuevang", "Kornblomsten", "Lyngparken", "Marehøj",
    "Tuevang", "Strandparken",
)  # fmt: skip


class AreaType(enum.Enum):
    """Role of a named area in the evaluation design (``AREA_TYPE`` in area_key.csv)."""

    TREATED = "treated"
    COMPARISON = "comparison"
    PLACEBO = "placebo"


@dataclass(frozen=True)
class Area:
    """A named housing area: id, name, municipality, type, target residents, dwellings."""

    area_id: int
    name: str
    kom: int
    area_type: AreaType
    residents: int
    dwellings: int


def comparison_names(n: int) -> tuple[str, ...]:
    """Fictional names for ``n`` comparison areas.

    Examples
    --------
    >>> comparison_names(2)
    ('Egeparken', 'Birkevang')
    """
    out = [_NAME_STEMS[i % len(_NAME_STEMS)] for i in range(n)]
    return tuple(f"{name} {i // len(_NAME_STEMS) + 1}" if i >= len(_NAME_STEMS) else name for i, name in enumerate(out))


def kom_arrays() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    """Codes, regions and population weights (summing to one) of the 98 municipalities.

    Examples
    --------
    >>> codes, regions, weights = kom_arrays()
    >>> codes.shape, round(float(weights.sum()), 6)
    ((98,), 1.0)
    """
    codes = np.array([m.code for m in MUNICIPALITIES.values()], dtype=np.int16)
    regions = np.array([m.region for m in MUNICIPALITIES.values()], dtype=np.int8)
    sizes = np.array([m.size for m in MUNICIPALITIES.values()], dtype=np.float64)
    return codes, regions, sizes / sizes.sum()


def region_lookup() -> npt.NDArray[np.int8]:
    """Array indexed by municipality code (0-999) giving its region (0 where no municipality).

    Examples
    --------
    >>> int(region_lookup()[101])
    84
    """
    out = np.zeros(1000, dtype=np.int8)
    for m in MUNICIPALITIES.values():
        out[m.code] = m.region
    return out
