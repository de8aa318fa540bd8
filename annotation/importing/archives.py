"""Turning what a user gives (files, folders, zip archives) into a list of files; no Django.

Zip archives are extracted defensively: members with absolute paths, `..`, drive letters
or links are refused, and both the declared and the actually written sizes are capped,
so a zip bomb stops at the cap instead of filling the disk.
"""

import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 100_000
MAX_RATIO = 200  # uncompressed / compressed, per member
CHUNK = 1 << 20


class ArchiveError(ValueError):
    """The archive cannot be used; nothing from it is imported."""


@dataclass
class Collected:
    files: list[tuple[str, Path]] = field(default_factory=list)  # (name in the report, path)
    failed: list[dict] = field(default_factory=list)


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveError(f"unsafe path in archive: {name!r}")
    return path


def extract_zip(archive: Path, destination: Path, *, max_bytes: int) -> list[Path]:
    """Extract every regular file; ArchiveError (and nothing kept) on anything unsafe."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"not a readable zip archive: {error}") from None
    with bundle:
        members = [m for m in bundle.infolist() if not m.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise ArchiveError(
                f"the archive holds {len(members)} files; the limit is {MAX_MEMBERS}"
            )
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            raise ArchiveError(f"the archive unpacks to {declared} bytes; the limit is {max_bytes}")
        paths = []
        written = 0
        for member in members:
            relative = _safe_member_path(member.filename)
            if stat.S_ISLNK(member.external_attr >> 16):
                raise ArchiveError(f"links are not accepted in archives: {member.filename!r}")
            if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
                raise ArchiveError(
                    f"{member.filename!r} is compressed suspiciously well (zip bomb?)"
                )
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as source, target.open("wb") as sink:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:  # the headers can lie about sizes
                        raise ArchiveError(f"the archive unpacks to more than {max_bytes} bytes")
                    sink.write(chunk)
            paths.append(target)
    return paths


def collect(paths: list[Path], workdir: Path, *, max_archive_bytes: int) -> Collected:
    """Every file under the given paths, archives extracted into workdir, in a stable order."""
    collected = Collected()
    for number, path in enumerate(paths):
        if not path.exists():
            collected.failed.append({"file": str(path), "error": "no such file or folder"})
            continue
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.suffix.lower() != ".zip" and not _is_zip(candidate):
                collected.files.append((str(candidate), candidate))
                continue
            target = workdir / f"archive-{number}-{len(collected.files)}"
            try:
                extracted = extract_zip(candidate, target, max_bytes=max_archive_bytes)
            except (ArchiveError, OSError) as error:
                collected.failed.append({"file": str(candidate), "error": str(error)})
                continue
            collected.files.extend(
                (f"{candidate}!{p.relative_to(target)}", p) for p in sorted(extracted)
            )
    return collected


def _is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False
