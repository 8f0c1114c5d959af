"""Persistence for what users save, kept outside the statistics library (``analysis``).

``Store`` saves versioned studies (definition YAML, data files, threshold, settings), owner
passwords, viewer links, fitted models and page views, through SQLAlchemy 2 Core: a SQLite file
by default (nothing to set up), PostgreSQL when a URL is configured (``default_url``).

Design choices:

* **Core, not ORM**: the store returns frozen dataclasses (``store.records``) copied out inside
  the transaction, so no lazy loading or session state leaks into Streamlit's reruns.
* **One transaction per call** (``store.api``): a save killed half-way leaves the previous
  version intact; every save adds a version, none is overwritten.
* **Last-writer check**: saving an existing study needs the version the edit started from
  (``expected_version``); otherwise ``StaleStudyError``, never a silent overwrite.
* **Versioned migrations in the repository** (``store.migrations``), refusing a newer schema.
* **Secrets stored as hashes**: owner passwords salted scrypt (``store.passwords``), viewer
  tokens sha256 (``store.tokens``).
* **One error type**: every failure is a ``StoreError`` (an ``analysis.errors.InputError``)
  with a message and a hint; never a raw SQLAlchemy traceback on screen.

One module per concern: ``config`` (which database), ``db`` (engines, error translation),
``schema`` (tables), ``migrations``, ``studies``, ``tokens``, ``passwords``, ``saved`` (models and
views), ``values`` (times, JSON), ``records`` (returned values), ``api`` (``Store``).
"""
from __future__ import annotations

from store.api import Store
from store.config import default_url
from store.errors import OwnerError, StaleStudyError, StoreError, TokenError
from store.migrations import SCHEMA_VERSION
from store.records import (SavedModel, SavedStudy, SavedView, StudyInfo, StudyRef, TokenInfo, VersionInfo,
                           ViewerGrant)
from store.studies import slugify

__all__ = ["Store", "default_url", "slugify", "SCHEMA_VERSION", "StoreError", "StaleStudyError", "OwnerError",
           "TokenError", "StudyRef", "SavedStudy", "VersionInfo", "StudyInfo", "ViewerGrant", "TokenInfo",
           "SavedModel", "SavedView"]
