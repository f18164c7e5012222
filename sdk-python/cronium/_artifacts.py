"""``save_artifact(path, name=None)``: copy one of the script's files into the artifacts directory.

The sandbox collects the regular files under ``/work/out`` when the script ends (``CRONIUM_ARTIFACTS_DIR``
overrides the directory, for tests and local runs). Local only: no API call, so it works outside Cronium too.

The collector takes regular files with one link and skips symlinks and hard links, so the artifact is always a
fresh copy of the bytes. The copy is written under a temporary name outside the artifacts tree (when that
directory is on the same filesystem) and renamed into place: a script killed in the middle of a copy (time-out,
OOM) leaves neither a half artifact nor a temporary file to be collected.
"""

import errno
import os
import re
import secrets
import shutil
import stat
from typing import Optional, Union

from ._client import CroniumError

DEFAULT_ARTIFACTS_DIR = "/work/out"

_FN = "save_artifact"
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def artifacts_dir() -> str:
    return os.path.abspath(os.environ.get("CRONIUM_ARTIFACTS_DIR") or DEFAULT_ARTIFACTS_DIR)


def artifact_name_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot be an artifact name, or None.

    The server's rule for file paths (relative, no empty, "." or ".." segment, no backslash), and no control
    characters (the server would rewrite them, so the name returned would not be the artifact's).
    """
    if name == "":
        return "must not be empty"
    if "\0" in name:
        return "must not contain a NUL character"
    if "\\" in name:
        return "must not contain a backslash"
    if _CONTROL.search(name):
        return "must not contain control characters"
    if name.startswith("/"):
        return "must be relative (no leading /)"
    segs = name.split("/")
    if "" in segs:
        return "must not have an empty segment (// or a trailing /)"
    if "." in segs or ".." in segs:
        return 'must not have a "." or ".." segment'
    return None


def _check_name(name: str, what: str) -> None:
    problem = artifact_name_problem(name)
    if problem is not None:
        raise TypeError("cronium: {}: {} {!r} {}".format(_FN, what, name, problem))


def _write_failed(what: str, err: BaseException) -> CroniumError:
    return CroniumError("cronium: {}: cannot {}: {}".format(_FN, what, err), code="ARTIFACT_WRITE_FAILED")


def _lstat_or_none(p: str) -> Optional[os.stat_result]:
    try:
        return os.lstat(p)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _write_failed("inspect " + p, err) from err


def _ensure_dir(d: str, field: Optional[str]) -> None:
    """A real directory at ``d`` (made if missing): a symlink or a file there would put the artifact out of reach."""
    st = _lstat_or_none(d)
    if st is None:
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as err:
            if err.errno != errno.EEXIST:
                raise _write_failed("create the directory " + d, err) from err
        st = _lstat_or_none(d)
    if st is None or not stat.S_ISDIR(st.st_mode):
        kind = ("a symbolic link (the collector does not follow links)"
                if st is not None and stat.S_ISLNK(st.st_mode) else "not a directory")
        raise CroniumError("cronium: {}: {} is {}".format(_FN, d, kind), code="ARTIFACT_CONFLICT", field=field)


def _temp_dir_for(root: str, dest_dir: str) -> str:
    """The artifacts directory's parent (/work) when on the destination's filesystem and writable, else dest_dir."""
    parent = os.path.dirname(root)
    if parent == root:
        return dest_dir
    try:
        same = os.stat(parent).st_dev == os.stat(dest_dir).st_dev
    except OSError:
        return dest_dir
    return parent if same and os.access(parent, os.W_OK) else dest_dir


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def save_artifact(path: "Union[str, os.PathLike[str]]", name: Optional[str] = None) -> str:
    """Copy the regular file at ``path`` to ``<artifacts dir>/<name>`` (default: its basename); returns the name.

    ``name`` may have subdirectories (``reports/day.csv``). Bad arguments raise ``TypeError``; a missing path
    ``CroniumError`` ``FILE_NOT_FOUND``, one that is not a regular file ``NOT_A_FILE``, a name that runs into a
    directory or a link in the artifacts directory ``ARTIFACT_CONFLICT``, an I/O error ``ARTIFACT_WRITE_FAILED``.
    """
    try:
        src = os.fspath(path)
    except TypeError:
        src = None
    if not isinstance(src, str) or src == "":
        raise TypeError("cronium: {}: path must be a non-empty str or os.PathLike".format(_FN))
    if name is not None:
        if not isinstance(name, str):
            raise TypeError("cronium: {}: name must be a str, got {}".format(_FN, type(name).__name__))
        _check_name(name, "name")

    try:
        st = os.stat(src)  # follows the script's own links: it names the file it means
    except (FileNotFoundError, NotADirectoryError):
        raise CroniumError("cronium: {}: path {!r} does not exist".format(_FN, src),
                           code="FILE_NOT_FOUND", field="path") from None
    except OSError as err:
        raise _write_failed("read {!r}".format(src), err) from err
    if not stat.S_ISREG(st.st_mode):
        raise CroniumError("cronium: {}: path {!r} is {}, not a regular file".format(_FN, src, _kind(st.st_mode)),
                           code="NOT_A_FILE", field="path")
    artifact = name
    if artifact is None:
        artifact = os.path.basename(src)
        _check_name(artifact, "name (the basename of path {!r})".format(src))

    root = artifacts_dir()
    segs = artifact.split("/")
    _ensure_dir(root, None)
    dest_dir = root
    for seg in segs[:-1]:
        dest_dir = os.path.join(dest_dir, seg)
        _ensure_dir(dest_dir, "name")
    dest = os.path.join(dest_dir, segs[-1])

    existing = _lstat_or_none(dest)
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise CroniumError("cronium: {}: {} is a directory".format(_FN, dest), code="ARTIFACT_CONFLICT", field="name")
    # Already the artifact (the script wrote it there): nothing to do. Not so for a second link to the file, which
    # the collector would skip: that one is replaced by a copy.
    if (existing is not None and stat.S_ISREG(existing.st_mode) and existing.st_nlink == 1
            and os.path.samestat(existing, st)):
        return artifact

    tmp = os.path.join(_temp_dir_for(root, dest_dir), ".cronium-artifact-{}.tmp".format(secrets.token_hex(8)))
    try:
        with open(src, "rb") as fin:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
            with os.fdopen(fd, "wb") as fout:
                os.fchmod(fout.fileno(), 0o644)
                shutil.copyfileobj(fin, fout, 1 << 20)
        os.replace(tmp, dest)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise _write_failed("copy {!r} to {}".format(src, dest), err) from err
    return artifact
