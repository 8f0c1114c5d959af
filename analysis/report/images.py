"""Static chart export: a plotly figure as PNG and SVG through plotly's static export engine
(kaleido 1.x), driving Debian's chromium; nothing is downloaded at run time.

kaleido is given the browser (``analysis.report.pdf.chromium_path``: ``COPROD_CHROMIUM`` or
``/usr/bin/chromium``), the plotly.js bundled with the plotly package, and no MathJax (its
default is a CDN script). Before export the figure's title and legend are kept inside the image:
margins grow to fit them (``automargin``/``autoexpand``) and a legend sits below the plot area,
so nothing is clipped (a radar's legend included).
"""
from __future__ import annotations

import asyncio
import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from analysis.errors import InputError

FORMATS = ("png", "svg")
DEFAULT_WIDTH = 900
DEFAULT_HEIGHT = 560


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def prepared_figure(fig, *, width: int | None = None, height: int | None = None):
    """A copy of ``fig`` sized for export, with its title and legend inside the image.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    width, height : int, optional
        Size in pixels; default the figure's own, else 900 x 560.
    """
    import plotly.graph_objects as go

    out = go.Figure(copy.deepcopy(fig.to_dict()))
    layout = out.layout
    out.update_layout(width=width or layout.width or DEFAULT_WIDTH, height=height or layout.height or DEFAULT_HEIGHT,
                      margin={"autoexpand": True})
    if layout.title is not None and layout.title.text:
        out.update_layout(title={"automargin": True, "yref": "container", "y": 1, "yanchor": "top",
                                 "pad": {"t": 14, "b": 8}})
    shows_legend = layout.showlegend is not False and sum(
        1 for t in out.data if t.showlegend is not False and getattr(t, "name", None)) > 1
    if shows_legend and layout.legend.orientation != "h":
        # a vertical legend on the right is what gets clipped (e.g. a radar's): put it below, inside
        out.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.15, "xanchor": "left", "x": 0,
                                  "yref": "container" if False else "paper"})
    return out


def figure_images(fig, formats=FORMATS, *, width: int | None = None, height: int | None = None,
                  scale: float = 2.0) -> dict[str, bytes]:
    """``{format: bytes}`` of ``fig`` in each of ``formats`` ('png', 'svg', 'pdf'), one browser for all.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    formats : sequence of str
    width, height : int, optional
        Layout size in pixels (``prepared_figure``).
    scale : float
        Pixel density of raster formats (2: sharp on slides and print).

    Raises
    ------
    InputError
        When kaleido or chromium is missing, or the export fails.
    """
    from analysis.report.pdf import chromium_path

    try:
        import kaleido
    except ImportError:
        raise InputError("static chart export needs the kaleido package",
                         hint="pip install -r requirements.txt -c constraints.txt") from None
    browser = chromium_path()
    if browser is None:
        raise InputError("static chart export needs chromium (not found)",
                         hint="install Debian's chromium (apt-get install chromium) or set COPROD_CHROMIUM")
    bad = [f for f in formats if f not in ("png", "svg", "pdf", "jpeg", "webp")]
    if bad:
        raise InputError(f"unknown image format '{bad[0]}'", hint="use png or svg")
    ready = prepared_figure(fig, width=width, height=height)
    spec = ready.to_plotly_json()
    opts = {"width": ready.layout.width, "height": ready.layout.height}
    kopts = {"path": browser, "mathjax": False, "plotlyjs": str(_plotly_js())}

    async def render() -> dict[str, bytes]:
        async with kaleido.Kaleido(**kopts) as k:  # one browser for every format
            return {fmt: await k.calc_fig(spec, opts={**opts, "format": fmt, "scale": 1 if fmt == "svg" else scale})
                    for fmt in formats}

    try:
        # in a thread of its own, so a caller with a running event loop (a notebook) can call it too
        with ThreadPoolExecutor(max_workers=1) as pool:
            out = pool.submit(asyncio.run, render()).result()
    except Exception as exc:  # kaleido raises its own error classes (browser failed, render timeout)
        raise InputError(f"static chart export failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         hint="check that chromium runs headless (chromium --headless --no-sandbox)") from None
    return out


def export_figure(fig, stem: str | Path, formats=FORMATS, **kwargs) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` (or ``formats``); returns the paths written.

    Keyword arguments go to :func:`figure_images`.
    """
    stem = Path(stem)
    paths = []
    for fmt, data in figure_images(fig, formats, **kwargs).items():
        path = stem.with_name(f"{stem.name}.{fmt}")
        path.write_bytes(data)
        paths.append(path)
    return paths
