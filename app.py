"""Digital co-production survey dashboard: navigation only.

Run with ``streamlit run app.py``. Each screen is a file in ``pages/``; the study the
screens share lives in ``ui.state``. A screen appears in the menu once its file exists.
"""
from __future__ import annotations

import streamlit as st

from analysis.runtime import one_blas_thread
from ui import access
from ui.preload import preload
from ui.widgets import page_exists

one_blas_thread()  # once per server process (analysis.runtime)

st.set_page_config(page_title="Digital co-production survey dashboard", page_icon=":material/hub:",
                   layout="wide")

# section -> (file, title, icon, url path); the order is the order of a research project.
# Each url path is its file's name: Streamlit resolves a link opened first on a fresh server
# against the pages/ folder before app.py has run, and a different name shows "Page not found".
SECTIONS: dict[str, list[tuple[str, str, str, str]]] = {
    "Data": [
        ("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
        ("pages/data.py", "Load and check data", ":material/upload_file:", "data"),
    ],
    "Measurement": [
        ("pages/measurement.py", "Scales: reliability, factors, agreement", ":material/straighten:", "measurement"),
    ],
    "Models": [
        ("pages/models.py", "Multilevel models", ":material/account_tree:", "models"),
    ],
    "Research topics": [
        ("pages/topic_skills.py", "1 · Knowledge, skills and attitudes", ":material/psychology:", "topic_skills"),
        ("pages/topic_resources.py", "2 · Resources and organisational conditions", ":material/corporate_fare:",
         "topic_resources"),
        ("pages/topic_drivers.py", "3 · Drivers, challenges and outcomes", ":material/trending_up:", "topic_drivers"),
    ],
    "Practitioners": [
        ("pages/readiness.py", "Organisation readiness", ":material/speed:", "readiness"),
    ],
}

# Pages a viewer link never reaches (respondent rows, downloads of them, the threshold, the list
# of saved studies); each also refuses a viewer itself (ui.access.require_owner).
OWNER_ONLY = {"pages/data.py"}

# The address's study and role first: a wrong or revoked viewer link shows its message and stops.
role = access.establish()
navigation = {}
for section, entries in SECTIONS.items():
    pages = [st.Page(path, title=title, icon=icon, url_path=url, default=(url == "overview"))
             for path, title, icon, url in entries
             if page_exists(path) and not (role.is_viewer and path in OWNER_ONLY)]
    if pages:
        navigation[section] = pages

try:
    st.navigation(navigation).run()
finally:  # after the page, so the link holds the selections it made in this run (also after st.stop)
    access.share_panel()
    preload()  # the other screens' imports, in the background, once per server (ui.preload)
