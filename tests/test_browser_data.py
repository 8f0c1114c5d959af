"""End to end on the Data page: a bad upload gives a clear message and leaves the study as it
was; a good upload (Latin-1 CSV with semicolons) replaces it."""
from __future__ import annotations

import pandas as pd

from e2e import screenshot, wait_for_app


def _upload(page, name: str, content: bytes, *, expect) -> None:
    """Upload ``content`` as ``name`` and wait until ``expect`` (a locator) shows, so a slow
    rerun on a busy machine is not mistaken for a finished one."""
    page.get_by_role("region", name="Upload a survey file").get_by_test_id(
        "stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}])
    expect.first.wait_for(timeout=60_000)
    wait_for_app(page)


def test_bad_uploads_keep_the_study(page, dashboard, tmp_path):
    page.goto(f"{dashboard}/data")
    wait_for_app(page)
    assert "public_servants.csv" in page.inner_text("body")
    for name, content, expected in [
        ("empty.csv", b"", "empty"),
        ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "not"),
        ("old_survey.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "xls"),
    ]:
        _upload(page, name, content,
                expect=page.locator('[data-testid="stAlertContentError"]', has_text=name))
        body = page.inner_text("body")
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() >= 1, f"no error box for {name}"
        message = errors.first.inner_text()
        assert name in message and expected in message.lower(), message
        assert page.locator('[data-testid="stException"]').count() == 0
        # The study loaded before is still there and usable.
        assert "Current file:" in body and "public_servants.csv" in body
        screenshot(page, f"data_bad_{name.replace('.', '_')}")


def test_latin1_semicolon_upload_replaces_sample(page, dashboard):
    sample = pd.read_csv("sample_data/public_servants.csv").head(40)
    sample.insert(1, "remark", "Café réunion")
    text = sample.to_csv(sep=";", index=False, decimal=",")
    page.goto(f"{dashboard}/data")
    wait_for_app(page)
    _upload(page, "enquête.csv", text.encode("latin-1"),
            expect=page.locator('[data-testid="stAlertContentSuccess"]', has_text="enquête.csv"))
    body = page.inner_text("body")
    assert "enquête.csv" in body and "40 rows" in body
    assert page.locator('[data-testid="stException"]').count() == 0
