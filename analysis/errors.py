"""The one exception type that carries a message meant for the user.

Everything in ``analysis`` that fails because of the *input* (an unreadable file,
an unknown column, a bad formula, a scale with one item) raises ``InputError``.
The pages show ``str(error)`` in an ``st.error`` box and the command line prints
it as one line on stderr and exits 2; nothing else is ever shown to a user.
"""
from __future__ import annotations


class InputError(ValueError):
    """A problem with what the user gave us, phrased so they can act on it.

    ``file``, ``key`` (of a study or instrument file), ``column`` and ``row`` locate the
    problem when known; ``hint`` says what to do. ``str()`` joins them into one readable line.
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 row: int | None = None, hint: str | None = None, key: str | None = None):
        self.message = message
        self.file = file
        self.key = key
        self.column = column
        self.row = row
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file '{self.file}'")
        if self.key:
            where.append(f"key '{self.key}'")
        if self.column:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.hint:
            text += f" ({self.hint})"
        return text
