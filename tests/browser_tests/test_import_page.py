"""A coordinator drops files on the import page; a real worker imports them; the page
follows the job live and the report says what went in and why a file was refused."""

import pytest

from annotation.demo import centers_from_manifest
from annotation.models import Image
from annotation.synthetic import generate_dataset
from base.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_files_dropped_on_the_page_are_imported_with_a_report(
    page, asgi_server, celery_worker_process, tmp_path
):
    manifest = generate_dataset(tmp_path / "data", patients=1, seed=5)
    centers_from_manifest(manifest)
    files = [str(tmp_path / "data" / record["dicom"]) for record in manifest["images"]]
    (tmp_path / "notes.txt").write_text("not an image")
    files.append(str(tmp_path / "notes.txt"))
    frames = sum(record["frames"] for record in manifest["images"])
    sent = f"{len(files)}/{len(files)}"

    UserFactory(username="coord", role=Role.COORDINATOR)
    page.goto(f"{asgi_server}/accounts/login/?next=/imports/new/")
    page.fill("#id_username", "coord")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.select_option("#center", "INT1")
    page.set_input_files("#pick-files", files)

    page.locator("#import-link a").wait_for(timeout=60_000)
    assert page.locator("#upload-count").inner_text() == sent
    assert page.locator("#import-count").inner_text() == sent
    page.click("#import-link a")
    stats = page.locator(".stat").all_inner_texts()
    assert f"{frames}\nimported" in stats and "1\nrefused" in stats
    assert "not an image file" in page.locator("#failed").inner_text()
    assert Image.objects.count() == frames
