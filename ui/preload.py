"""Importing the analysis modules in the background once the first screen has been drawn.

A server starts with none of the statistics modules imported: the first visit of each screen
paid for its own imports (scipy.stats alone about 0.5 s, the topic screens' library 0.6 s) on
top of its statistics. After the first screen of a server process has run, one background
thread imports the modules the other screens use, while the user is still reading or uploading,
so a screen's first visit is its statistics. Nothing is computed and no data are touched;
Python's import locks make a screen that needs a module meanwhile wait for it, not import it
twice.
"""
from __future__ import annotations

import functools
import importlib
import threading

# What the screens import beyond the first screen's needs (measured in a fresh process with
# pandas and streamlit loaded: scipy.stats 0.50 s, analysis.topics 0.59 s, analysis.factor 0.23 s,
# analysis.readiness_view 0.14 s, store 0.12 s, analysis.mixed 0.11 s).
MODULES = ("scipy.stats", "analysis.topics", "analysis.factor", "analysis.mixed", "analysis.readiness_view",
           "analysis.reproduce", "store", "ui.charts_models", "plotly.express")


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a screen importing it itself will say what is wrong
            pass


@functools.cache
def preload(modules: tuple[str, ...] = MODULES) -> threading.Thread:
    """Start the background imports, once per process; returns the thread (tests join it)."""
    thread = threading.Thread(target=_import_all, args=(modules,), name="preload-imports", daemon=True)
    thread.start()
    return thread
