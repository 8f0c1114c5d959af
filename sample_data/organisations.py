"""Write ``organisations.csv``: a name and a type for each organisation of the sample.

Names are made up (a town per municipality, one organisation each); the type is the
organisation's ``org_type`` in ``public_servants.csv`` as labelled in the instrument, so the
lookup and the data's column agree. Deterministic: ``python sample_data/organisations.py``
rewrites the same file. The respondents' file is not touched.
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
        rows.append({"id": int(r.org_id), "name": name, "type": kind})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    build().to_csv(HERE / "organisations.csv", index=False)
