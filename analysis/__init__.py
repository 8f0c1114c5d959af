"""Survey analysis for digital co-production research: a pure library (no UI code).

The pipeline runs one way: read (``io``) -> map to an instrument (``instruments``,
``mapping``) -> validate (``validate``) -> clean and score (``scoring``) -> analyses
(``reliability``, ``factor``, ``aggregation``, ``mixed``, ``readiness``, ``topics``),
with ``privacy`` applied to every grouped result that leaves the library.
"""
