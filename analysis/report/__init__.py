"""Reports a researcher can hand in and a practitioner can take to a meeting.

* The study report (``analysis.report.study``): data summary, reliability and agreement per
  scale, the three research topics (distributions, readiness, rankings, models), as one
  self-contained HTML file or its PDF: ``build_study_report(study)``, ``study_report_html``,
  ``write_study_report(study, out)`` (the ``report`` command), ``study_report_bytes(study,
  pdf=...)`` (a page's download button). ``load_surveys(study, contents=..., prepared=...)``
  takes uploaded bytes or the session's prepared data instead of the files beside the study.
* The organisation reports (``analysis.report.organisation``): one per organisation for its
  practitioners, small organisations suppressed: ``organisation_report(result, group)``,
  ``write_organisation_reports(study, out_dir)`` (the ``org-reports`` command),
  ``organisation_report_bytes(study, organisation)``.
* ``html_to_pdf(html, out)``: chromium headless printing (``analysis.report.pdf``).
* ``figure_images(fig)`` / ``export_figure(fig, stem)``: a plotly figure as PNG and SVG through
  kaleido and Debian's chromium (``analysis.report.images``).

Modules: ``document`` (what a report holds), ``measurement``, ``readiness``, ``topics``,
``models`` (the sections), ``charts`` (figures), ``render`` (HTML), ``pdf``, ``images``,
``study``, ``organisation``. Every number is formatted by ``analysis.formatting``; every group
result respects the study's privacy threshold (``analysis.privacy``).
"""
from __future__ import annotations

from analysis.report.document import Figure, Report, Section, Table
from analysis.report.images import export_figure, figure_images
from analysis.report.organisation import organisation_report, organisation_report_bytes, write_organisation_reports
from analysis.report.pdf import html_to_pdf
from analysis.report.render import to_html
from analysis.report.study import (build_study_report, load_surveys, study_report_bytes, study_report_html,
                                   write_study_report)

__all__ = ["Figure", "Report", "Section", "Table", "build_study_report", "export_figure", "figure_images",
           "html_to_pdf", "load_surveys", "organisation_report", "organisation_report_bytes", "study_report_bytes",
           "study_report_html", "to_html", "write_organisation_reports", "write_study_report"]
