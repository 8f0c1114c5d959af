"""The study store (``store/``): the same tests on a SQLite file and on a real PostgreSQL server.

PostgreSQL: a session fixture starts a throw-away cluster (``initdb`` + ``pg_ctl`` from Debian's
``postgresql`` package, installed by ``scripts/install-system-deps.sh``) on a free localhost port
with its socket in a temporary folder, as the ``postgres`` user when the tests run as root, and
stops it at the end. Each test gets a fresh database in it. Without the binaries the PostgreSQL
half is skipped locally, but fails when ``CI=true``: CI can never pass by silently skipping it.
"""
from __future__ import annotations

import glob
import hashlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text

import store
from store import schema
from store.config import default_url
from store.migrations import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = "name: Staff survey\nscales:\n  wellbeing: {items: [w1, w2, w3]}\n"
FILES = {"wave1.csv": b"id,w1,w2,w3\n1,3,4,5\n2,2,2,1\n", "wave2.xlsx": bytes(range(256)) * 40}


# -- PostgreSQL cluster ---------------------------------------------------------------------------
def _pg_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` (or PATH) holding initdb and pg_ctl."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name)
                        if Path(d).parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster; yields the URL of its maintenance database ``postgres``."""
    bindir = _pg_bindir()
    if bindir is None:
        message = ("PostgreSQL's initdb/pg_ctl not found (/usr/lib/postgresql/*/bin): "
                   "run scripts/install-system-deps.sh")
        pytest.fail(message + " (the README's test command installs it; the PostgreSQL tests never skip)")
    base = Path(tempfile.mkdtemp(prefix="coprod-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as postgres
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
            pytest.fail(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n{log}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "coprod", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60",
            "-o", options, "start")
        yield f"postgresql+psycopg://coprod@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store" / "dashboard.sqlite3")
    server = request.getfixturevalue("postgres_server")
    name = f"t{os.getpid()}_{next(_numbers)}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def st(url: str) -> Iterator[store.Store]:
    s = store.Store(url)
    yield s
    s.close()


def raw(s: store.Store, sql: str) -> list[tuple]:
    """Rows of a plain SQL query on the store's database (outside the store's API)."""
    engine = create_engine(s.url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def execute(s: store.Store, sql: str) -> None:
    engine = create_engine(s.url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


# -- studies --------------------------------------------------------------------------------------
def test_round_trip_of_definition_files_and_settings(st: store.Store) -> None:
    settings = {"topics": ["wellbeing"], "weights": np.array([0.5, 1.5]), "missing": float("nan")}
    ref = st.save_study("Staff survey 2025", DEFINITION, FILES, min_n=8, settings=settings, saved_by="ana")
    assert ref == store.StudyRef(id=ref.id, name="Staff survey 2025", slug="staff-survey-2025", version=1)
    saved = st.load_study("staff-survey-2025")
    assert saved.ref == ref
    assert saved.definition_yaml == DEFINITION
    assert saved.files == FILES and list(saved.files) == list(FILES)
    assert saved.min_n == 8 and saved.saved_by == "ana"
    assert saved.settings == {"topics": ["wellbeing"], "weights": [0.5, 1.5], "missing": None}
    assert saved.saved_at.tzinfo is not None
    assert abs(saved.saved_at - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_versions_are_kept_and_files_stored_once(st: store.Store) -> None:
    st.save_study("Pulse", "v: 1\n", FILES, min_n=5)
    st.save_study("Pulse", "v: 2\n", {**FILES, "extra.csv": b"a\n1\n"}, min_n=10, expected_version=1)
    ref = st.save_study("Pulse", "v: 3\n", FILES, expected_version=2, saved_by="bo")
    assert ref.version == 3 and st.latest_version("pulse") == 3
    assert [v.version for v in st.versions("pulse")] == [1, 2, 3]
    assert st.versions("pulse")[1].filenames == ("wave1.csv", "wave2.xlsx", "extra.csv")
    assert st.versions("pulse")[2].saved_by == "bo"
    assert st.load_study("pulse", version=1).definition_yaml == "v: 1\n"
    assert st.load_study("pulse", version=2).min_n == 10
    assert st.load_study("pulse").definition_yaml == "v: 3\n"
    assert raw(st, "SELECT COUNT(*) FROM files") == [(3,)]   # deduplicated by sha256
    assert raw(st, "SELECT COUNT(*) FROM version_files") == [(7,)]
    with pytest.raises(store.StoreError, match="no version 9"):
        st.load_study("pulse", version=9)


def test_stale_write_raises_and_never_overwrites(st: store.Store) -> None:
    st.save_study("Pulse", "v: 1\n", FILES)
    assert st.save_study("Pulse", "v: alice\n", FILES, expected_version=1).version == 2
    with pytest.raises(store.StaleStudyError, match="at version 2, not 1"):
        st.save_study("Pulse", "v: bob\n", FILES, expected_version=1)
    with pytest.raises(store.StaleStudyError, match="already exists \\(version 2\\)"):
        st.save_study("pulse", "v: carol\n", FILES)   # same slug, no expected version: not new
    assert st.load_study("pulse").definition_yaml == "v: alice\n"
    assert st.latest_version("pulse") == 2
    st.delete_study("pulse")
    with pytest.raises(store.StaleStudyError, match="no longer exists"):
        st.save_study("Pulse", "v: dave\n", FILES, expected_version=2)


def test_two_owners_saving_at_once_get_one_version_each_or_an_error(st: store.Store) -> None:
    st.save_study("Race", "v: 1\n", FILES)
    outcomes: list[object] = []

    def save(who: str) -> None:
        try:
            outcomes.append(st.save_study("Race", f"v: {who}\n", FILES, expected_version=1).version)
        except store.StaleStudyError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=save, args=(w,)) for w in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(type, outcomes), key=str) == sorted([int, store.StaleStudyError], key=str)
    assert st.latest_version("race") == 2


def test_lookup_by_slug_or_id_and_listing(st: store.Store) -> None:
    a = st.save_study("Staff survey (2025)", DEFINITION, FILES)
    b = st.save_study("Alumni", DEFINITION, {}, owner_password="pw")
    assert st.load_study(a.id).ref.slug == "staff-survey-2025"
    assert st.load_study("staff-survey-2025").ref.id == a.id
    assert st.save_study("staff survey 2025", DEFINITION, FILES, expected_version=1).slug == a.slug
    assert st.latest_version("nothing-here") is None
    listed = st.list_studies()
    assert [(s.slug, s.version, s.has_owner_password) for s in listed] == [
        ("alumni", 1, True), ("staff-survey-2025", 2, False)]
    assert listed[1].name == "staff survey 2025"   # the latest name given
    assert b.slug == "alumni" and st.load_study("alumni").files == {}
    with pytest.raises(store.StoreError, match="no saved study 'nope'"):
        st.load_study("nope")


def test_delete_removes_study_and_its_belongings(st: store.Store) -> None:
    st.save_study("Gone", DEFINITION, FILES)
    st.save_study("Kept", DEFINITION, {"wave1.csv": FILES["wave1.csv"]})
    st.create_viewer_token("gone")
    st.save_model("gone", "y ~ x", {}, {"b": 1})
    st.save_view("gone", "topics", {"topic": "x"})
    st.delete_study("gone")
    assert [s.slug for s in st.list_studies()] == ["kept"]
    with pytest.raises(store.StoreError, match="no saved study"):
        st.load_study("gone")
    for table in ("viewer_tokens", "saved_models", "saved_views"):
        assert raw(st, f"SELECT COUNT(*) FROM {table}") == [(0,)]
    assert raw(st, "SELECT COUNT(*) FROM files") == [(1,)]   # the file Kept shares stays
    assert st.load_study("kept").files == {"wave1.csv": FILES["wave1.csv"]}
    with pytest.raises(store.StoreError, match="no saved study"):
        st.delete_study("gone")


def test_bad_arguments_are_store_errors(st: store.Store) -> None:
    with pytest.raises(store.StoreError, match="needs a name"):
        st.save_study("  ", DEFINITION, FILES)
    with pytest.raises(store.StoreError, match="min_n"):
        st.save_study("X", DEFINITION, FILES, min_n=0)
    with pytest.raises(store.StoreError, match="file names to their bytes"):
        st.save_study("X", DEFINITION, {"a.csv": "text"})  # type: ignore[dict-item]
    with pytest.raises(store.StoreError, match="settings cannot be saved as JSON"):
        st.save_study("X", DEFINITION, FILES, settings={"f": object()})
    assert st.list_studies() == []


# -- owner password and viewer tokens -------------------------------------------------------------
def test_owner_password(st: store.Store) -> None:
    st.save_study("Open", DEFINITION, FILES)
    assert st.check_owner("open", None) and st.check_owner("open", "anything")
    st.save_study("Closed", DEFINITION, FILES, owner_password="s3cret")
    assert st.check_owner("closed", "s3cret")
    assert not st.check_owner("closed", "wrong") and not st.check_owner("closed", None)
    stored = raw(st, "SELECT owner_hash FROM studies WHERE slug = 'closed'")[0][0]
    assert "s3cret" not in stored and stored.startswith("scrypt$")
    with pytest.raises(store.OwnerError, match="wrong or missing"):
        st.save_study("Closed", DEFINITION, FILES, expected_version=1)
    with pytest.raises(store.OwnerError):
        st.save_study("Closed", DEFINITION, FILES, expected_version=1, owner_password="wrong")
    assert st.save_study("Closed", DEFINITION, FILES, expected_version=1, owner_password="s3cret").version == 2
    with pytest.raises(store.OwnerError):
        st.set_owner_password("closed", "new", current_password="wrong")
    st.set_owner_password("closed", "new", current_password="s3cret")
    assert st.check_owner("closed", "new") and not st.check_owner("closed", "s3cret")
    st.save_study("Open", DEFINITION, FILES, expected_version=1, owner_password="first")  # first owner sets it
    assert not st.check_owner("open", "anything") and st.check_owner("open", "first")
    with pytest.raises(store.StoreError, match="no saved study"):
        st.check_owner("nope", "x")


def test_viewer_tokens_resolve_revoke_and_are_stored_hashed(st: store.Store) -> None:
    ref = st.save_study("Shared", DEFINITION, FILES)
    st.save_study("Other", DEFINITION, FILES)
    token = st.create_viewer_token("shared", label="board")
    second = st.create_viewer_token("shared")
    assert len(token) >= 43 and token != second
    assert st.resolve_viewer_token(token) == store.ViewerGrant("shared", ref.id, "board", None)
    rows = raw(st, "SELECT * FROM viewer_tokens")
    assert token not in repr(rows) and second not in repr(rows)
    assert hashlib.sha256(token.encode()).hexdigest() in repr(rows)
    listed = st.list_viewer_tokens("shared")
    assert [t.label for t in listed] == [None, "board"] and token not in repr(listed)
    assert {t.status for t in listed} == {"active"}
    st.revoke_viewer_token("shared", token)
    with pytest.raises(store.TokenError, match="revoked"):
        st.resolve_viewer_token(token)
    with pytest.raises(store.TokenError, match="no such viewer link"):
        st.revoke_viewer_token("other", listed[0].id)   # a token of another study
    st.revoke_viewer_token("shared", listed[0].id)
    assert {t.status for t in st.list_viewer_tokens("shared")} == {"revoked"}
    with pytest.raises(store.TokenError, match="not valid"):
        st.resolve_viewer_token(token[:-2] + "xx")
    with pytest.raises(store.TokenError, match="not valid"):
        st.resolve_viewer_token("")


def test_viewer_token_expiry(st: store.Store) -> None:
    st.save_study("Shared", DEFINITION, FILES)
    future = datetime.now(timezone.utc) + timedelta(days=7)
    token = st.create_viewer_token("shared", expires_at=future)
    grant = st.resolve_viewer_token(token)
    assert grant.expires_at is not None and abs(grant.expires_at - future) < timedelta(seconds=1)
    past = st.create_viewer_token("shared", expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    with pytest.raises(store.TokenError, match="expired on"):
        st.resolve_viewer_token(past)
    naive_past = st.create_viewer_token("shared", expires_at=datetime.utcnow() - timedelta(minutes=5))
    with pytest.raises(store.TokenError, match="expired"):
        st.resolve_viewer_token(naive_past)
    assert [t.status for t in st.list_viewer_tokens("shared")] == ["expired", "expired", "active"]


# -- models and views -----------------------------------------------------------------------------
def test_models_and_views(st: store.Store) -> None:
    st.save_study("Models", DEFINITION, FILES)
    result = {"fixed": {"x": np.float64(0.25)}, "se": [np.nan, 1.0]}
    first = st.save_model("models", "y ~ x + (1 | team)", {"reml": True}, result)
    st.save_study("Models", DEFINITION, FILES, expected_version=1)
    second = st.save_model("models", "y ~ 1", None, [1, 2], version=1)
    models = st.list_models("models")
    assert [m.id for m in models] == [first, second]
    assert models[0].result == {"fixed": {"x": 0.25}, "se": [None, 1.0]} and models[0].options == {"reml": True}
    assert models[0].study_version == 1 and models[1].study_version == 1
    view = st.save_view("models", "topics", {"topic": "wellbeing", "group": ["team"]}, name="team view")
    assert [(v.id, v.page, v.query_params, v.name) for v in st.list_views("models")] == [
        (view, "topics", {"topic": "wellbeing", "group": ["team"]}, "team view")]
    with pytest.raises(store.StoreError, match="no saved study"):
        st.save_view("nope", "topics", {})


# -- schema, failures, restarts -------------------------------------------------------------------
def test_migrations_from_an_empty_database(url: str) -> None:
    s = store.Store(url)
    assert s.schema_version == SCHEMA_VERSION
    assert raw(s, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    engine = create_engine(s.url)
    found = inspect(engine)
    for table in schema.metadata.sorted_tables:   # the migrations build what the code queries
        assert {c["name"] for c in found.get_columns(table.name)} == set(table.columns.keys()), table.name
    engine.dispose()
    assert store.Store(url).schema_version == SCHEMA_VERSION   # opening again changes nothing
    assert raw(s, "SELECT COUNT(*) FROM schema_version") == [(1,)]


def test_newer_schema_is_refused_untouched(st: store.Store) -> None:
    st.save_study("Kept", DEFINITION, FILES)
    execute(st, f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(store.StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer") as caught:
        store.Store(st.url)
    assert "update the dashboard" in str(caught.value)
    assert raw(st, "SELECT version FROM schema_version") == [(SCHEMA_VERSION + 1,)]
    assert raw(st, "SELECT COUNT(*) FROM study_versions") == [(1,)]


def test_database_of_the_earlier_store_is_refused(url: str) -> None:
    if not url.startswith("postgresql"):
        Path(url).parent.mkdir(parents=True)
    engine = create_engine(store.config.to_url(url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE study_datasets (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(store.StoreError, match="earlier saved-studies store"):
        store.Store(url)


def test_interrupted_save_keeps_previous_version(st: store.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    st.save_study("Safe", "v: 1\n", FILES)
    real = store.studies._put_files

    def put_then_fail(conn, files):
        real(conn, files)
        raise KeyboardInterrupt("killed half-way")

    monkeypatch.setattr(store.studies, "_put_files", put_then_fail)
    with pytest.raises(KeyboardInterrupt):
        st.save_study("Safe", "v: 2\n", {"new.csv": b"never stored"}, expected_version=1)
    monkeypatch.undo()
    saved = st.load_study("safe")
    assert saved.ref.version == 1 and saved.definition_yaml == "v: 1\n" and saved.files == FILES
    assert raw(st, "SELECT COUNT(*) FROM files") == [(2,)] and raw(st, "SELECT COUNT(*) FROM study_versions") == [(1,)]
    assert st.save_study("Safe", "v: 2\n", FILES, expected_version=1).version == 2


KILLED_SAVE = textwrap.dedent("""
    import sys, time
    import store, store.studies as studies
    real = studies._put_files
    def put_and_wait(conn, files):
        out = real(conn, files)
        print("written", flush=True)
        time.sleep(120)
        return out
    studies._put_files = put_and_wait
    store.Store(sys.argv[1]).save_study("Big", "v: 2\\n", {"big.bin": bytes(8_000_000)}, expected_version=1)
""")


def test_killed_save_keeps_previous_version(st: store.Store) -> None:
    st.save_study("Big", "v: 1\n", FILES)
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, st.url], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.strip() == "written", child.stderr.read() if child.stderr else ""
        assert st.latest_version("big") == 1   # not committed: invisible to others meanwhile
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    after = store.Store(st.url)
    saved = after.load_study("big")
    assert saved.ref.version == 1 and saved.files == FILES
    assert after.save_study("Big", "v: 2\n", FILES, expected_version=1).version == 2   # lock released
    assert raw(after, "SELECT COUNT(*) FROM files") == [(2,)]
    after.close()


def test_restart_sees_everything(url: str) -> None:
    first = store.Store(url)
    first.save_study("Persist", DEFINITION, FILES, owner_password="pw", settings={"a": 1})
    token = first.create_viewer_token("persist", label="x")
    first.save_model("persist", "y ~ x", {}, {"b": 2})
    first.save_view("persist", "readiness", {"s": "1"})
    first.close()
    second = store.Store(url)
    assert second.load_study("persist").settings == {"a": 1}
    assert second.resolve_viewer_token(token).slug == "persist"
    assert second.check_owner("persist", "pw")
    assert len(second.list_models("persist")) == 1 and len(second.list_views("persist")) == 1
    second.close()


@pytest.fixture
def unusable(request: pytest.FixtureRequest, url: str, tmp_path: Path) -> str:
    """A database that cannot be used, on the backend of ``url``."""
    if url.startswith("postgresql"):
        return url.rsplit("@", 1)[0] + f"@127.0.0.1:{_free_port()}/nothing"   # no server on that port
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database file" * 100)
    return str(junk)


def test_unusable_database_is_a_store_error(unusable: str) -> None:
    with pytest.raises(store.StoreError) as caught:
        store.Store(unusable)
    message = str(caught.value)
    assert "study database" in message and "(" in message and "Traceback" not in message
    assert type(caught.value.__cause__).__module__.startswith("sqlalchemy")


def test_bad_urls_are_store_errors(tmp_path: Path) -> None:
    with pytest.raises(store.StoreError, match="not a database URL"):
        store.Store("postgresql+psycopg://host:notaport/x")
    with pytest.raises(store.StoreError, match="'mysql' is not supported"):
        store.Store("mysql://u:pw@host/db")
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    with pytest.raises(store.StoreError, match="cannot be read or written"):
        store.Store(str(folder))
    with pytest.raises(store.StoreError) as caught:
        store.Store("postgresql://me:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)


# -- configuration --------------------------------------------------------------------------------
def test_configuration_order(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('db_url = "postgresql://u@h/from_secrets"\n')
    env = {"COPROD_DB_URL": "sqlite:////from/env", "COPROD_DB": str(tmp_path / "path.sqlite3")}
    assert default_url("postgres://u@h/explicit", environ=env, secrets_files=(secrets,)) == \
        "postgresql+psycopg://u@h/explicit"
    assert default_url(environ=env, secrets_files=(secrets,)) == "sqlite:////from/env"
    del env["COPROD_DB_URL"]
    assert default_url(environ=env, secrets_files=(tmp_path / "missing.toml", secrets)) == \
        "postgresql+psycopg://u@h/from_secrets"
    assert default_url(environ=env, secrets_files=()) == f"sqlite:///{tmp_path / 'path.sqlite3'}"
    assert default_url(environ={}, secrets_files=()) == f"sqlite:///{ROOT / 'data_store' / 'dashboard.sqlite3'}"
    assert default_url(str(tmp_path / "x.db"), environ={}) == f"sqlite:///{tmp_path / 'x.db'}"


def test_bad_secrets_file_is_a_store_error(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("db_url = \n")
    with pytest.raises(store.StoreError, match="not valid TOML"):
        default_url(environ={}, secrets_files=(secrets,))
    secrets.write_text("db_url = 5\n")
    with pytest.raises(store.StoreError, match="db_url must be a string"):
        default_url(environ={}, secrets_files=(secrets,))
