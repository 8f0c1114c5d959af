"""Reports a researcher can hand in and a practitioner can take to a meeting.

* ``build_study_report(study)`` / ``study_report_html(study)`` / ``write_study_report(study, out)``:
  the study report (data summary, reliability and agreement per scale, readiness), one
  self-contained HTML file or its PDF (``analysis.report.study``);
* ``organisation_report(result, group)`` / ``write_organisation_reports(study, out_dir)``: one
  report per organisation for its practitioners, small organisations suppressed
  (``analysis.report.organisation``);
* ``html_to_pdf(html, out)``: chromium headless printing (``analysis.report.pdf``);
* ``figure_images(fig)`` / ``export_figure(fig, stem)``: a plotly figure as PNG and SVG through
  kaleido and Debian's chromium (``analysis.report.images``).

Modules: ``document`` (what a report holds), ``measurement``, ``readiness`` (the sections),
``charts`` (plotly figures), ``render`` (HTML), ``pdf``, ``images``, ``study``, ``organisation``.
Every number is formatted by ``analysis.formatting``; every group result respects the study's
privacy threshold (``analysis.privacy``).
"""
from __future__ import annotations

from analysis.report.document import Figure, Report, Section, Table
from analysis.report.images import export_figure, figure_images
from analysis.report.organisation import organisation_report, write_organisation_reports
from analysis.report.pdf import html_to_pdf
from analysis.report.render import to_html
from analysis.report.study import build_study_report, study_report_html, write_study_report

__all__ = ["Figure", "Report", "Section", "Table", "build_study_report", "export_figure", "figure_images",
           "html_to_pdf", "organisation_report", "study_report_html", "to_html", "write_organisation_reports",
           "write_study_report"]
