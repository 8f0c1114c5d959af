"""Who is looking at which study: the address names the study, the session remembers the role.

Two kinds of link open a saved study (``store``):

* ``?study=<slug>`` (optionally ``&version=N``): the **owner's** link. It opens that saved study
  with every screen, the Data page included; a study saved with an owner password asks for it
  first. A study that no longer exists is said so, and nothing else is shown: a link never falls
  back to other data (the bundled sample, or whatever the session had before).
* ``?view=<token>``: a **viewer** link. The token (``store.tokens``: random, stored hashed,
  revocable, optionally expiring) opens the latest version of its study with the aggregated
  screens only: no Data page (so no respondent rows, no file downloads, no threshold setting, no
  list of saved studies), no model data or residuals on the Models page. Group results obey the
  study's threshold as they do for everyone (``analysis.privacy``). The token is checked on every
  run, so a revoked link stops working at the next click, and a session opened by a viewer link
  stays a viewer session whatever the address is changed to.

Without either parameter the session works on its own study (the bundled sample at first). The
address always carries the study once one is saved or opened (``establish`` puts the parameter
back after a page change, which clears it), so copying the address bar shares the view.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import streamlit as st

from analysis import study as studies
from store import Store, StoreError, default_url
from store.records import SavedStudy
from ui import state

VIEW_PARAM = "view"
STUDY_PARAM = "study"
VERSION_PARAM = "version"
LINK_PARAMS = (VIEW_PARAM, STUDY_PARAM, VERSION_PARAM)
_SESSION_KEY = "access"


@dataclass(frozen=True)
class Access:
    """The session's role and the saved study it works on (``slug`` None: not a saved study)."""

    role: str = "owner"             # "owner" or "viewer"
    slug: str | None = None
    version: int | None = None
    name: str | None = None
    token: str | None = None        # the viewer link's token (viewers only)

    @property
    def is_viewer(self) -> bool:
        return self.role == "viewer"


def current() -> Access:
    """The session's access (an owner working on the bundled sample until something is opened)."""
    value = st.session_state.get(_SESSION_KEY)
    return value if isinstance(value, Access) else Access()


def is_viewer() -> bool:
    """Whether this session came through a viewer link (aggregated screens only)."""
    return current().is_viewer


def open_store() -> Store:
    """The study store this server is configured for (``store.default_url``), opened on each run
    so that a database repaired or replaced while the server runs is seen at once."""
    return Store(default_url())


def _refuse(message: str, hint: str) -> None:
    """Show only ``message`` and stop: nothing of any study is rendered after it."""
    st.error(message, icon=":material/lock:")
    st.caption(hint)
    st.stop()


def open_saved(saved: SavedStudy, role: str = "owner", token: str | None = None) -> None:
    """Make ``saved`` (one version from the store) the session's study, with its threshold and
    settings; raises ``InputError`` (and changes nothing) if a survey no longer prepares."""
    state.open_study(studies.parse_study(saved.definition_yaml, file=saved.ref.name), dict(saved.files))
    state.set_min_n(saved.min_n)
    st.session_state["_opened_min_n"] = saved.min_n
    st.session_state["study_invited"] = dict(saved.settings or {}).get("invited", {})
    st.session_state["study_ref"] = (saved.ref.slug, saved.ref.version)
    st.session_state[_SESSION_KEY] = Access(role, saved.ref.slug, saved.ref.version, saved.ref.name, token)


def saved_as(slug: str, version: int, name: str) -> None:
    """Record that the owner saved the session's study as ``slug`` version ``version``."""
    st.session_state["study_ref"] = (slug, version)
    st.session_state[_SESSION_KEY] = Access("owner", slug, version, name)
    st.query_params[STUDY_PARAM] = slug
    st.query_params.pop(VERSION_PARAM, None)


def reopen(slug: str) -> None:
    """Open the latest saved version of ``slug`` at the next run, as its owner's link does (the
    password asked if it has one), even when the session has that study open with changes."""
    st.session_state.pop(_SESSION_KEY, None)
    st.query_params[STUDY_PARAM] = slug
    st.query_params.pop(VERSION_PARAM, None)


def _viewer(token: str) -> Access:
    store = _store_or_refuse()
    try:
        grant = store.resolve_viewer_token(token)
    except StoreError as exc:  # unknown, revoked or expired: the message and nothing else
        st.session_state.pop("study_sources", None)
        st.session_state[_SESSION_KEY] = Access("viewer", token=token)
        _refuse(exc.message[:1].upper() + exc.message[1:] + ".", exc.hint[:1].upper() + exc.hint[1:] + "."
                if exc.hint else "Ask the study's owner for a new link.")
    known = current()
    if known.token != token or known.slug != grant.slug or "study_sources" not in st.session_state \
            or known.version != store.latest_version(grant.slug):
        try:
            open_saved(store.load_study(grant.slug), role="viewer", token=token)
        except StoreError as exc:
            st.session_state.pop("study_sources", None)
            _refuse(str(exc), "Ask the study's owner for a new link.")
    for name in (STUDY_PARAM, VERSION_PARAM):
        st.query_params.pop(name, None)
    return current()


def _owner_link(slug: str, version: int | None) -> Access:
    known = current()
    if known.slug == slug and (version is None or known.version == version) and "study_sources" in st.session_state:
        return known
    store = _store_or_refuse()
    try:
        saved = store.load_study(slug, version)
    except StoreError:
        st.session_state.pop("study_sources", None)
        st.session_state.pop(_SESSION_KEY, None)
        st.session_state.pop("study_ref", None)
        what = f"version {version} of the study “{slug}”" if version else f"the study “{slug}”"
        _refuse(f"This link opens {what}, which does not exist (any more) in this dashboard's store.",
                "Nothing else is shown in its place. Ask whoever sent the link for a new one, or open the "
                "dashboard without the study in its address to work on your own data.")
    if not store.check_owner(slug, None) and not store.check_owner(slug, st.session_state.get("_owner_password")):
        st.warning(f"The study “{saved.ref.name}” is protected by its owner's password.", icon=":material/lock:")
        with st.form("owner_password_form"):
            password = st.text_input("Owner password", type="password")
            if st.form_submit_button("Open the study"):
                if store.check_owner(slug, password):
                    st.session_state["_owner_password"] = password
                    st.rerun()
                st.error("That is not the study's owner password.")
        st.stop()
    try:
        open_saved(saved)
    except StoreError as exc:
        _refuse(str(exc), "The saved study's files could not be prepared.")
    return current()


def _store_or_refuse() -> Store:
    try:
        return open_store()
    except StoreError as exc:
        _refuse(f"The study store cannot be used right now: {exc}",
                "Nothing saved is lost; try again later or tell whoever runs this dashboard.")
        raise  # pragma: no cover - _refuse stops the script


def establish() -> Access:
    """Resolve the address's study and role for this run; call before anything is rendered.

    A viewer token (in the address, or remembered by the session) wins over everything: a
    session opened by a viewer link never becomes an owner's by editing the address. Then an
    owner's ``?study=`` link. Without either, the session's own study, whose slug (if saved) is
    put back into the address.
    """
    params = st.query_params
    token = params.get(VIEW_PARAM) or current().token
    if token:
        access = _viewer(token)
        params[VIEW_PARAM] = token
        return access
    slug = params.get(STUDY_PARAM)
    if slug:
        version_text = params.get(VERSION_PARAM)
        version = int(version_text) if version_text and version_text.isdigit() else None
        return _owner_link(slug, version)
    access = current()
    if access.slug:
        params[STUDY_PARAM] = access.slug
    return access


def require_owner(what: str = "This page") -> None:
    """Stop a page that only the study's owner may see (the Data page) for a viewer session."""
    if is_viewer():
        _refuse(f"{what} is for the study's owner. A viewer link opens the aggregated results only.",
                "Use the menu to open the topic screens, the measurement summaries, the models or the "
                "organisation readiness view.")


def enter(*, owner_only: str | None = None) -> Access:
    """What every page calls before its first widget: app.py's navigation in charge
    (``state.use_app_navigation``), the address's study and role resolved (``establish``; app.py
    did it already, a page run on its own as in tests does it here), and, for a page only the owner
    may see, a viewer stopped with a message naming ``owner_only``."""
    state.use_app_navigation()
    found = establish()
    if owner_only:
        require_owner(owner_only)
    return found


def view_link(page_url: str | None = None, params: dict[str, str] | None = None, *, token: str | None = None) -> str:
    """The address of this view: the page, its selections and the study (or a viewer token).

    Parameters
    ----------
    page_url : str, optional
        The page's address without parameters (default ``st.context.url``; a relative ``?``
        link when Streamlit does not know it, as in tests).
    params : dict, optional
        The page's selections (default: the address's parameters now).
    token : str, optional
        Make a viewer link with this token instead of the session's own kind of link.
    """
    access = current()
    selections = {k: v for k, v in (params if params is not None else st.query_params.to_dict()).items()
                  if k not in LINK_PARAMS}
    link: dict[str, str] = {}
    if token or access.is_viewer:
        link[VIEW_PARAM] = token or access.token or ""
    elif access.slug:
        link[STUDY_PARAM] = access.slug
    link.update(selections)
    base = page_url if page_url is not None else (st.context.url or "")
    return f"{base}?{urlencode(link)}" if link else base


def share_panel() -> None:
    """The sidebar's "share this view" box: the link to copy, and for a saved study's owner a
    button making a viewer link (shown once; the Data page lists and revokes them)."""
    access = current()
    with st.sidebar.container(border=True):
        st.markdown("**Share this view**")
        if access.is_viewer:
            st.caption(f"You are viewing “{access.name}” through a viewer link: aggregated results only.")
            st.code(view_link(), language=None, wrap_lines=True)
            return
        if not access.slug:
            st.caption("Save the study on the Data page to get a link that opens it in any browser. "
                       "Unsaved, a link opens the bundled sample.")
            return
        st.caption(f"Your link to this view of “{access.name or access.slug}” (owner):")
        st.code(view_link(), language=None, wrap_lines=True)
        days = st.number_input("Viewer link valid for (days, 0 = no end)", 0, 3650, 30, key="share_days")
        if st.button("Make a viewer link", key="share_make_viewer", icon=":material/link:"):
            try:
                expires = datetime.now(timezone.utc) + timedelta(days=int(days)) if days else None
                token = open_store().create_viewer_token(access.slug, expires_at=expires,
                                                         label=f"sidebar, {datetime.now(timezone.utc):%Y-%m-%d}")
                st.session_state["_new_viewer_token"] = (access.slug, token)
            except StoreError as exc:
                st.error(str(exc))
        made = st.session_state.get("_new_viewer_token")
        if made and made[0] == access.slug:
            st.caption("Viewer link to this view (aggregated screens only). Copy it now: only its hash is "
                       "stored, so it cannot be shown again after this session.")
            st.code(view_link(token=made[1]), language=None, wrap_lines=True)
