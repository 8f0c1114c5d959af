#!/usr/bin/env bash
# System packages the tests need, from Debian's archive, each installed only when missing:
#   chromium    the browser tests (Playwright drives it; it never downloads a browser of its own);
#   postgresql  the study-store tests (tests/test_study_store.py start a throw-away cluster with
#               its initdb and pg_ctl, which live in /usr/lib/postgresql/*/bin, not on PATH);
#   R           the Reproduce panel's scripts (tests/test_reproduce_r.py runs them with Rscript):
#               r-base-core and the R packages they call, each Debian's r-cran-* build.
# The Debian package also enables a system-wide cluster service; the tests never use it.
set -euo pipefail
missing=()
if ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  missing+=(postgresql)
fi
# R and the packages the generated scripts load (analysis.reproduce.DEBIAN names them)
R_PACKAGES=(jsonlite readr haven readxl psych GPArotation lavaan multilevel lme4 lmerTest performance)
if ! command -v Rscript >/dev/null 2>&1; then
  missing+=(r-base-core)
  for p in "${R_PACKAGES[@]}"; do missing+=("r-cran-${p,,}"); done
else
  # one R process names the packages it cannot load
  for p in $(Rscript -e 'for (p in commandArgs(TRUE)) if (!requireNamespace(p, quietly = TRUE)) cat(p, "\n")' \
             "${R_PACKAGES[@]}" 2>/dev/null); do
    missing+=("r-cran-${p,,}")
  done
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
