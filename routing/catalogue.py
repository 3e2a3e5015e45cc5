"""The catalogue of commercial AWS Regions: where each one is and what runs there.

Source: ``regions.csv`` beside this module: each commercial Region's code and city, whether it is
opt-in (disabled in an account until enabled: AWS Account Management guide, "Enable or disable AWS
Regions in your account") and whether it launched after 2022. Coordinates are metro-area
approximations, good enough to rank Regions by great-circle distance. ``lambda_edge_execution`` is
``yes`` for the Regional edge cache Regions the CloudFront developer guide lists and ``unknown``
elsewhere: AWS adds execution Regions, so nothing here may assume the list is complete.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("regions.csv")

# Commercial, GovCloud and China Region codes all have this shape; it is how an unknown but
# plausible Region (one AWS launched after this catalogue was written) is told apart from garbage.
REGION_CODE_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\Z")

_EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True)
class Region:
    code: str
    city: str
    latitude: float
    longitude: float
    opt_in: bool
    # OAI does not work in Regions launched after December 2022 (CloudFront developer guide).
    launched_after_2022: bool
    # True only where Lambda@Edge is documented to execute; False means "not known to".
    lambda_edge_execution: bool

    @property
    def supports_oai(self) -> bool:
        return not self.launched_after_2022


@functools.cache
def load_catalogue() -> dict[str, Region]:
    """Every Region in the catalogue by code, in file order. Read once per process."""
    with CATALOGUE_PATH.open(newline="", encoding="utf-8") as handle:
        return {
            row["code"]: Region(
                code=row["code"],
                city=row["city"],
                latitude=float(row["lat"]),
                longitude=float(row["lon"]),
                opt_in=row["opt_in"] == "yes",
                launched_after_2022=row["launched_after_2022"] == "yes",
                lambda_edge_execution=row["lambda_edge_execution"] == "yes",
            )
            for row in csv.DictReader(handle)
        }


def lambda_edge_execution_regions() -> tuple[str, ...]:
    """The Regions where Lambda@Edge is documented to execute (the Regional edge cache Regions)."""
    return tuple(code for code, region in load_catalogue().items() if region.lambda_edge_execution)


def describe_unknown_region(value: object) -> str:
    """Why ``value`` is not a Region code of the catalogue, with the closest codes as a hint."""
    catalogue = load_catalogue()
    close = difflib.get_close_matches(str(value), catalogue, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    known = ", ".join(sorted(catalogue))
    return f"{value!r} is not a known AWS Region code; {hint}known codes: {known}"


def great_circle_km(a: Region, b: Region) -> float:
    """Haversine distance between two Regions, in kilometres."""
    lat_a, lat_b = math.radians(a.latitude), math.radians(b.latitude)
    d_lat = lat_b - lat_a
    d_lon = math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def rank_origins(region_code: str, origins: Sequence[str]) -> list[str]:
    """``origins`` nearest first from ``region_code``; ties keep the given order."""
    catalogue = load_catalogue()
    here = catalogue[region_code]
    return sorted(
        origins,
        key=lambda code: (great_circle_km(here, catalogue[code]), list(origins).index(code)),
    )
