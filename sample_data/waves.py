"""Write ``public_servants_waves.csv``: the public-servant sample as wave 2024 plus a second
wave, 2025, with one documented change, in a file of its own (the other sample files and the
tests that use them keep their numbers).

Wave 2025 is built from wave 2024 (``public_servants.csv``, unchanged, ``wave = 2024``):

* **Respondents**: in every organisation, as many respondents as in 2024, drawn with
  replacement from that organisation's 2024 respondents (new ids from 200001), so apart from
  the change below the two waves differ only by sampling error.
* **The change**: each answer 1-4 to the three staff-training items (``ps_rdy_train1..3``) is
  raised by one point with probability ``TRAINING_LIFT`` (0.5), independently per answer;
  answers of 5, missing answers and missing codes (-99) stay as they are. Every other column
  is copied as drawn. In expectation the share favourable (4 or 5) of a training item rises by
  half the 2024 share of 3s (the 3s that become 4s), and the unfavourable share falls by half
  the share of 2s; the other dimensions do not change.

Deterministic (``numpy.random.default_rng(SEED)``): ``python sample_data/waves.py`` rewrites
the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20261206
TRAINING_ITEMS = ("ps_rdy_train1", "ps_rdy_train2", "ps_rdy_train3")
TRAINING_LIFT = 0.5
WAVES = (2024, 2025)


def build(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = pd.read_csv(HERE / "public_servants.csv").copy()
    parts = []
    for _, rows in first.groupby("org_id", sort=True):
        parts.append(rows.iloc[rng.integers(0, len(rows), size=len(rows))])
    second = pd.concat(parts, ignore_index=True).copy()
    second["respondent_id"] = 200001 + np.arange(len(second))
    for item in TRAINING_ITEMS:
        x = second[item]
        lift = x.between(1, 4) & (rng.random(len(x)) < TRAINING_LIFT)
        second[item] = x.where(~lift, x + 1)
    first.insert(1, "wave", WAVES[0])
    second.insert(1, "wave", WAVES[1])
    return pd.concat([first, second], ignore_index=True)


if __name__ == "__main__":
    build().to_csv(HERE / "public_servants_waves.csv", index=False)
