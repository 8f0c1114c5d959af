"""The exceptions the store raises: each carries a message meant for the user.

They subclass ``analysis.errors.InputError`` so the pages show them as they show every other
input problem (one readable line with a hint), never as a SQLAlchemy traceback.
"""
from __future__ import annotations

from analysis.errors import InputError


class StoreError(InputError):
    """The study database cannot be used, or a saved thing is not there.

    Examples: an unreachable server, an unreadable file, a URL that names no database,
    a database written by a newer dashboard, an unknown study slug.
    """


class StaleStudyError(StoreError):
    """A save was based on an older version than the latest one (someone else saved meanwhile).

    Saving never overwrites silently: the caller reloads the latest version, merges and saves
    again with ``expected_version`` set to it.
    """


class OwnerError(StoreError):
    """The owner password given does not match the study's."""


class TokenError(StoreError):
    """A viewer link's token is unknown, revoked or expired."""
