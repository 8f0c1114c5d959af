"""Write ``organisations.csv``: a name and a type for each organisation of the sample.

Names are made up (a town per municipality, one organisation each); the type is the
organisation's ``org_type`` in ``public_servants.csv`` as labelled in the instrument, so the
lookup and the data's column agree. The parent is one of two regional departments
(municipalities 1-30 and 31-60), listed as rows of their own without respondents: the
hierarchy. Deterministic: ``python sample_data/organisations.py`` rewrites the same file. The
respondents' file is not touched.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
TYPES = {1: "Municipal administration", 2: "Social and care services", 3: "Public utility or enterprise",
         4: "Regional or national agency office"}
TOWNS = ["Aldermoor", "Brackwater", "Cindervale", "Dunmore", "Eastholm", "Fernbridge", "Glenrock", "Harrowby",
         "Ivybank", "Juniper Falls", "Kestrel Point", "Larkspur", "Millbrook", "Northwick", "Oakhaven", "Pinecrest",
         "Queensford", "Ravensdale", "Stonebridge", "Thornfield", "Upton Marsh", "Valebrook", "Westmere",
         "Yarrowdale", "Ashcombe", "Birchley", "Coldstream", "Dovecote", "Elmstead", "Foxhollow"]
REGIONS = {901: "Northern Region Department", 902: "Southern Region Department"}


def build() -> pd.DataFrame:
    data = pd.read_csv(HERE / "public_servants.csv", usecols=["org_id", "municipality_id", "org_type"])
    orgs = data.groupby("org_id")[["municipality_id", "org_type"]].first().reset_index()
    rows = []
    for r in orgs.itertuples():
        town = TOWNS[(int(r.municipality_id) - 1) % len(TOWNS)]
        if int(r.municipality_id) > len(TOWNS):
            town += " North"
        kind = TYPES[int(r.org_type)]
        name = {1: f"{town} Town Hall", 2: f"{town} Social Services", 3: f"{town} Water and Energy",
                4: f"{town} Regional Agency Office"}[int(r.org_type)]
        rows.append({"id": int(r.org_id), "name": name, "type": kind, "parent": _region(int(r.municipality_id))})
    rows += [{"id": rid, "name": rname, "type": "Regional department", "parent": None}
             for rid, rname in REGIONS.items()]
    return pd.DataFrame(rows).astype({"parent": "Int64"})


def _region(municipality: int) -> int:
    """The parent of an organisation: the department of its half of the municipalities."""
    return 901 if municipality <= 30 else 902


if __name__ == "__main__":
    build().to_csv(HERE / "organisations.csv", index=False)
