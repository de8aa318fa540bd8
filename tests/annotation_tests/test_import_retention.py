"""What an image import keeps: the refused files' paths for the uploader only and for
IMPORT_REPORT_PATH_DAYS, the uploaded files not past the import (importing/retention.py)."""

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from annotation.importing.jobs import import_job_execute, import_job_receive
from annotation.importing.retention import SWEEP_KEY, import_retention_purge, import_retention_sweep
from annotation.models import ImportJob, ImportSource
from base.jobs import job_claim, jobs_abandoned_fail
from base.models import JobStatus
from base.roles import Role
from tests.factories import UserFactory

PATH = "H-447275/A20170705-8515/img1.png"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.IMPORT_UPLOAD_RETENTION_HOURS = 24
    settings.IMPORT_REPORT_PATH_DAYS = 30
    return settings.UPLOAD_DIR


def _client(client, user):
    client.force_login(user)
    return client


def _upload(client, names=(PATH,), start=True) -> int:
    job_id = client.post(reverse("import-list"), {}, content_type="application/json").json()["id"]
    uploads = []
    for name in names:
        upload = io.BytesIO(b"not an image at all")
        upload.name = Path(name).name
        uploads.append(upload)
    response = client.post(
        reverse("import-files", args=[job_id]), {"files": uploads, "names": list(names)}
    )
    assert response.status_code == 201, response.content
    if start:
        assert client.post(reverse("import-start", args=[job_id])).status_code == 202
    return job_id


def _texts(client, job_id) -> str:
    api = client.get(reverse("import-detail", args=[job_id]))
    page = client.get(reverse("annotation:import_detail", args=[job_id]))
    assert api.status_code == page.status_code == 200
    return json.dumps(api.json()) + page.content.decode()


@pytest.mark.django_db
def test_the_refused_files_paths_are_shown_to_the_uploader_only(client, settings):
    uploader = UserFactory(role=Role.COORDINATOR)
    job_id = _upload(_client(client, uploader))
    import_job_execute(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == JobStatus.SUCCEEDED and job.report["failed"][0]["file"] == PATH
    assert PATH in _texts(client, job_id)
    for other in (UserFactory(role=Role.COORDINATOR), UserFactory(role=Role.ADMINISTRATOR)):
        shown = _texts(_client(client, other), job_id)
        assert "file 1 (shown to the uploader only)" in shown
        assert "H-447275" not in shown and "A20170705-8515" not in shown
        assert "img1.png" not in shown  # nor where the reason quotes the file


@pytest.mark.django_db
def test_an_import_that_fails_deletes_its_uploaded_files(client, settings, tmp_path):
    job_id = _upload(_client(client, UserFactory(role=Role.COORDINATOR)))
    folder = Path(ImportJob.objects.get(pk=job_id).upload_dir)
    assert (folder / PATH).exists()
    settings.VAR_DIR = tmp_path / "no" / "such" / "folder"  # the import's work folder fails
    with pytest.raises(FileNotFoundError):
        import_job_execute(job_id=job_id)
    assert ImportJob.objects.get(pk=job_id).status == JobStatus.FAILED
    assert not folder.exists()


@pytest.mark.django_db
def test_files_left_by_a_job_whose_worker_died_go_with_the_next_sweep(client, settings):
    job_id = _upload(_client(client, UserFactory(role=Role.COORDINATOR)))
    folder = Path(ImportJob.objects.get(pk=job_id).upload_dir)
    job_claim(ImportJob, job_id)  # a worker takes it, then dies
    long_ago = timezone.now() - timedelta(seconds=3 * settings.JOB_LEASE_SECONDS)
    ImportJob.objects.filter(pk=job_id).update(leased_at=long_ago)
    assert import_retention_purge().upload_folders_removed == 0  # still running: kept
    assert jobs_abandoned_fail() == 1
    assert folder.exists()
    assert import_retention_purge().upload_folders_removed == 1
    assert not folder.exists()


@pytest.mark.django_db
def test_an_import_never_started_is_closed_and_its_files_deleted_after_the_retention(client):
    client = _client(client, UserFactory(role=Role.COORDINATOR))
    job_id = _upload(client, start=False)
    job = ImportJob.objects.get(pk=job_id)
    folder = Path(job.upload_dir)
    almost = job.created_at + timedelta(hours=24) - timedelta(minutes=1)
    assert import_retention_purge(now=almost).expired_imports == 0
    assert (folder / PATH).exists()
    past = job.created_at + timedelta(hours=24, minutes=1)
    assert import_retention_purge(now=past).expired_imports == 1
    assert not folder.exists()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and not job.receiving
    assert "not started within 24 hours" in job.error
    upload = io.BytesIO(b"x")
    upload.name = "late.dcm"
    late = client.post(reverse("import-files", args=[job_id]), {"files": [upload]})
    assert late.status_code == 400 and "closed" in late.json()["detail"]
    start = client.post(reverse("import-start", args=[job_id]))
    assert start.status_code == 409 and "closed" in start.json()["detail"]
    assert not folder.exists()
    assert import_retention_purge(now=past).expired_imports == 0  # once


@pytest.mark.django_db
def test_a_file_arriving_as_its_import_is_closed_is_not_kept(client):
    job_id = _upload(_client(client, UserFactory(role=Role.COORDINATOR)), start=False)
    stale = ImportJob.objects.get(pk=job_id)  # the request read it before the sweep
    import_retention_purge(now=stale.created_at + timedelta(hours=25))
    with pytest.raises(ValueError, match="closed"):
        import_job_receive(job=stale, name="late/b.dcm", chunks=[b"late"])
    assert not Path(stale.upload_dir).exists()


@pytest.mark.django_db
def test_folders_of_ended_or_deleted_imports_are_removed_and_waiting_ones_kept(upload_dir):
    receiving = ImportJob.objects.create(source=ImportSource.API, receiving=True)
    queued = ImportJob.objects.create(source=ImportSource.API)
    ended = ImportJob.objects.create(source=ImportSource.API, status=JobStatus.SUCCEEDED)
    folders = {pk: upload_dir / f"import-{pk}" for pk in (receiving.pk, queued.pk, ended.pk)}
    folders[0] = upload_dir / "import-999999"  # its job was deleted
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "a.dcm").write_bytes(b"header")
    other = upload_dir / "notes"  # not an import's: left alone
    other.mkdir()
    assert import_retention_purge().upload_folders_removed == 2
    assert folders[receiving.pk].exists() and folders[queued.pk].exists() and other.exists()
    assert not folders[ended.pk].exists() and not folders[0].exists()


@pytest.mark.django_db
def test_report_paths_are_removed_after_the_configured_days(client, capsys):
    uploader = UserFactory(role=Role.COORDINATOR)
    job_id = _upload(_client(client, uploader))
    import_job_execute(job_id=job_id)
    command = ImportJob.objects.create(
        source=ImportSource.COMMAND,
        paths=["/data/H-447275/A20170705-8515"],
        status=JobStatus.SUCCEEDED,
        report={"imported": 1, "duplicates": 0, "failed": []},
    )
    finished = timezone.now()
    ImportJob.objects.update(finished_at=finished)
    assert import_retention_purge(now=finished + timedelta(days=29)).reports_cleared == 0
    assert PATH in _texts(client, job_id)
    assert import_retention_purge(now=finished + timedelta(days=31)).reports_cleared == 2
    shown = _texts(client, job_id)  # the uploader too
    assert "file 1 (name removed after 30 days)" in shown and "H-447275" not in shown
    assert "H-447275" not in json.dumps(list(ImportJob.objects.values("report", "paths")))
    command.refresh_from_db()
    assert command.paths == [] and command.paths_purged_at is not None
    capsys.readouterr()
    call_command("import_retention_purge", "--json")  # nothing more is due
    assert json.loads(capsys.readouterr().out) == {
        "expired_imports": 0,
        "upload_folders_removed": 0,
        "reports_cleared": 0,
    }


@pytest.mark.django_db
def test_the_workers_sweep_runs_at_most_once_per_interval():
    cache.delete(SWEEP_KEY)
    assert import_retention_sweep() is not None
    assert import_retention_sweep() is None
    cache.delete(SWEEP_KEY)
