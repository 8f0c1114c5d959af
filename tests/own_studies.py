"""A researcher's own study file for the tests: one survey of soldiers in their own group
column, with their own scale names (no bundled instrument)."""
from __future__ import annotations


def climate_study(group: str, covariates: list[str], scales: list[str]) -> str:
    """The study YAML: ``scales`` are the YAML flow mappings of its scales, one per line."""
    lines = ["title: Company climate study", "surveys:", "  - name: soldiers", "    file: climate.csv",
             "    id_column: person", f"    groups: [{group}]", f"    covariates: [{', '.join(covariates)}]",
             "    scales:", *(f"      - {scale}" for scale in scales)]
    return "\n".join(lines) + "\n"
