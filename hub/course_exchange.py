"""nbgrader's default exchange, with the Unix permissions a class on one machine needs.

Plugged in through nbgrader's public extension point, ``ExchangeFactory`` (see
``hub/nbgrader_config.py``). Each class is nbgrader 0.9.6's own default exchange class with
public methods overridden; nothing underscored is touched. What changes, and why:

* The exchange root need not be writable by everyone (nbgrader #1225). Stock nbgrader
  requires ``o+rwx`` on the root and ``release_assignment`` chmods it to 0777, which lets
  any learner rename the course folder and put a folder of their own in its place (then
  every later submission lands in a folder the attacker owns). Here the root belongs to
  root (0755) and only has to be reachable: ``ensure_root`` checks that, and never chmods.
* A submission is private to its learner and the instructors (nbgrader #978). Stock
  ``submit`` leaves the submission folder 0777 and its files 0644, hidden only by a random
  name. :class:`PrivateSubmit` makes folders 0770 and files 0640; ``inbound/`` (prepared
  by ``make hub``) is sticky, so nobody but the owner renames or deletes an entry, and has
  a default POSIX ACL giving the instructors' group access to everything created in it
  and others nothing (:func:`set_inbound_default_acl`).
* Nobody submits in someone else's name. ``inbound`` must stay writable by every learner,
  so a learner can create ``alice+ch02_lstm_cell+<time>+x`` there; stock ``collect`` takes
  the newest entry per name and only logs a warning when the owner differs. Here
  :class:`CheckedCollect` drops every entry whose Unix owner is not the learner it names,
  and every entry that is a symbolic link, before choosing the newest; it copies no
  symbolic link found inside a submission (stock ``collect`` follows them, so a learner
  could have a link to the instructor's files copied into ``submitted/``).
* Feedback is readable by its learner alone (nbgrader #1202). Stock ``release_feedback``
  writes world-readable files whose names derive from a secret in the submission.
  :class:`PrivateReleaseFeedback` writes each file 0640 (instructors' group) with a POSIX
  access ACL entry ``user:<learner>:r``, written to a private temporary file and renamed
  into place. Without ACL support on the file system it refuses to release (fail closed),
  unless ``PrivateReleaseFeedback.allow_world_readable = True``.

A learner runs arbitrary code under their own account, so nothing here trusts the
learner's side: what protects learner A from learner B is the file modes set by A's own
server (honest, running this code) and by the instructor, checked by the kernel.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import stat
import struct
import tempfile

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default import (
    ExchangeCollect,
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeList,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
    ExchangeSubmit,
)
from nbgrader.utils import ignore_patterns, notebook_hash, parse_utc
from traitlets import Bool

#: Where Unix accounts are not in /etc/passwd (Kubernetes pods given one uid per learner,
#: see deploy/kubernetes/), a JSON file {"<user name>": <uid>, ...} says who is who.
ROSTER_ENV = "LSTM_COURSE_ROSTER"


def _roster() -> dict[str, int] | None:
    path = os.environ.get(ROSTER_ENV)
    if not path:
        return None
    with open(path) as f:
        return {str(k): int(v) for k, v in json.load(f).items()}


def uid_of(name: str) -> int | None:
    """The uid of account ``name`` (the roster when there is one, else /etc/passwd)."""
    roster = _roster()
    if roster is not None:
        return roster.get(name)
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def name_of(uid: int) -> str | None:
    roster = _roster()
    if roster is not None:
        return next((n for n, u in roster.items() if u == uid), None)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


SUBMISSION_DIR_MODE = 0o770
SUBMISSION_FILE_MODE = 0o640
FEEDBACK_FILE_MODE = 0o640


class _ReachableRoot:
    """``ensure_root`` that asks only for a reachable root (no write, no chmod)."""

    def ensure_root(self):
        if not os.path.isdir(self.root) or not os.access(self.root, os.X_OK):
            self.fail(
                f"The nbgrader exchange {self.root} is missing or not reachable. Ask the "
                "administrator to run `make hub` (it prepares the exchange with the right "
                "owners and modes)."
            )


class ReachableReleaseAssignment(_ReachableRoot, ExchangeReleaseAssignment):
    """``release_assignment`` that leaves the root's mode alone (nbgrader #1225)."""


class ReachableFetchAssignment(_ReachableRoot, ExchangeFetchAssignment):
    pass


class ReachableList(_ReachableRoot, ExchangeList):
    pass


class ReachableFetchFeedback(_ReachableRoot, ExchangeFetchFeedback):
    pass


class PrivateSubmit(_ReachableRoot, ExchangeSubmit):
    """``submit`` whose submission only its learner and the instructors' group can read."""

    def set_perms(self, dest, fileperms, dirperms):
        # nbgrader asks for 0644 files and 0755 folders; the learner's own copy in its cache
        # is not set through here (it lives in the learner's private home).
        super().set_perms(dest, SUBMISSION_FILE_MODE, SUBMISSION_DIR_MODE)

    def copy_files(self):
        super().copy_files()
        # stock submit ends with chmod 0777 on the submission folder: take it back
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), SUBMISSION_DIR_MODE)


class CheckedCollect(_ReachableRoot, ExchangeCollect):
    """``collect`` that takes only entries owned by the learner they name."""

    def owner_of(self, path: str) -> str | None:
        """User name owning ``path`` (not following a link), or None."""
        try:
            return name_of(os.lstat(path).st_uid)
        except OSError:
            return None

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not os.access(self.inbound_path, os.R_OK | os.X_OK):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(
            self.inbound_path, f"{glob.escape(student_id) if student_id != '*' else '*'}"
            f"+{glob.escape(self.coursedir.assignment_id)}+*"
        )
        by_student: dict[str, list[dict]] = {}
        self.rejected = []
        for path in sorted(glob.glob(pattern)):
            name = os.path.basename(path)
            parts = name.rsplit("+", 3)
            if len(parts) < 3:
                self.rejected.append((name, "not a submission name"))
                continue
            username = parts[0]
            try:
                timestamp = parse_utc(parts[2])
            except Exception:
                self.rejected.append((name, "unreadable time stamp"))
                continue
            st = os.lstat(path)
            owner = self.owner_of(path)
            if not stat.S_ISDIR(st.st_mode):
                self.rejected.append((name, "not a folder (a link or a file)"))
            elif owner != username:
                self.rejected.append((name, f"claims to be {username}'s but belongs to {owner}"))
            else:
                by_student.setdefault(username, []).append(
                    {"username": username, "filename": name, "timestamp": timestamp}
                )
        for name, why in self.rejected:
            self.log.warning("Not collected: %s (%s)", name, why)

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for records in by_student.values():
            records.sort(key=lambda r: r["timestamp"], reverse=True)
            if self.duedate is not None and self.before_duedate:
                before = [r for r in records if r["timestamp"] <= self.duedate]
                self.src_records.append(before[0] if before else records[0])
            else:
                self.src_records.append(records[0])

    def do_copy(self, src, dest, log=None):
        """Copy a submission without following or keeping any symbolic link."""
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big: {src}")
        shutil.copytree(
            src, dest, symlinks=True,
            ignore=ignore_patterns(exclude=self.coursedir.ignore,
                                   include=self.coursedir.include,
                                   max_file_size=self.coursedir.max_file_size, log=self.log),
        )  # fmt: skip
        for dirpath, dirnames, filenames in os.walk(dest):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    self.log.warning("Dropped a symbolic link from a submission: %s", path)
                    os.unlink(path)


# ---------------------------------------------------------------- POSIX ACLs, stdlib only
# The Linux xattr format of an access ACL (linux/posix_acl_xattr.h): a little-endian u32
# version (2), then entries (u16 tag, u16 permissions, u32 id) sorted by tag, then id.
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_UNDEFINED = 0xFFFFFFFF
ACL_XATTR = "system.posix_acl_access"
DEFAULT_ACL_XATTR = "system.posix_acl_default"


def _acl(entries) -> bytes:
    return struct.pack("<I", _ACL_VERSION) + b"".join(
        struct.pack("<HHI", *e) for e in sorted(entries, key=lambda e: (e[0], e[2])))


def set_reader_acl(path: str, uid: int) -> None:
    """Give ``path`` the access ACL ``u::rw-, u:<uid>:r--, g::r--, m::r--, o::---``.

    Raises OSError when the file system has no POSIX ACLs.
    """
    os.setxattr(path, ACL_XATTR, _acl([
        (_USER_OBJ, 6, _UNDEFINED), (_USER, 4, uid), (_GROUP_OBJ, 4, _UNDEFINED),
        (_MASK, 4, _UNDEFINED), (_OTHER, 0, _UNDEFINED),
    ]))  # fmt: skip


def set_inbound_default_acl(path: str, gid: int) -> None:
    """Default ACL of ``inbound/``: whatever a learner creates there (their submission
    folder and every file in it, whatever its Unix group) carries ``g:<gid>:rwx`` (the
    instructors' group; the modes the learner's server sets act as the mask) and
    ``o::---``.

    The Unix group alone cannot do this: a submission's files are written by the
    learner's process, whose group is their own, and a learner cannot give a file to a
    group they are not in. Raises OSError without POSIX ACLs.
    """
    os.setxattr(path, DEFAULT_ACL_XATTR, _acl([
        (_USER_OBJ, 7, _UNDEFINED), (_GROUP_OBJ, 0, _UNDEFINED), (_GROUP, 7, gid),
        (_MASK, 7, _UNDEFINED), (_OTHER, 0, _UNDEFINED),
    ]))  # fmt: skip


def acl_readers(path: str) -> set[int]:
    """Uids named in ``path``'s access ACL (empty when it has none)."""
    try:
        blob = os.getxattr(path, ACL_XATTR)
    except OSError:
        return set()
    out = set()
    for off in range(4, len(blob), 8):
        tag, perm, ident = struct.unpack_from("<HHI", blob, off)
        if tag == _USER and perm & 4:
            out.add(ident)
    return out


class PrivateReleaseFeedback(_ReachableRoot, ExchangeReleaseFeedback):
    """``release_feedback`` whose files only their learner (and instructors) can read."""

    allow_world_readable = Bool(
        False,
        help="Release feedback world-readable (stock nbgrader) where the file system has "
        "no POSIX ACLs. Off: refuse to release instead.",
    ).tag(config=True)

    def copy_files(self):
        exclude = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        for html_file in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            feedback_dir = os.path.dirname(html_file)
            notebook_id = os.path.splitext(os.path.basename(html_file))[0]
            # feedback/<student>/<assignment>/<notebook>.html
            student_id = os.path.basename(os.path.dirname(feedback_dir))
            if student_id in exclude:
                continue
            try:
                with open(os.path.join(feedback_dir, "submission_secret.txt")) as fh:
                    secret = fh.read()
                with open(os.path.join(feedback_dir, "timestamp.txt")) as fh:
                    timestamp = fh.read()
            except OSError as err:
                self.log.error("No feedback released for %s: %s", student_id, err)
                continue
            uid = uid_of(student_id)
            if uid is None:
                self.log.error("No feedback released for %s: no such account", student_id)
                continue
            checksum = notebook_hash(secret=secret, notebook_id=notebook_id)
            final = os.path.join(self.dest_path, f"{checksum}.html")
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".html", dir=self.dest_path)
            try:
                with os.fdopen(fd, "wb") as out, open(html_file, "rb") as src:
                    shutil.copyfileobj(src, out)
                os.chmod(tmp, FEEDBACK_FILE_MODE)
                try:
                    set_reader_acl(tmp, uid)
                except OSError as err:
                    if not self.allow_world_readable:
                        self.fail(
                            f"Cannot give {student_id} alone read access to the feedback "
                            f"({err}): this file system lacks POSIX ACLs. Set "
                            "PrivateReleaseFeedback.allow_world_readable = True to release "
                            "it world-readable, as stock nbgrader does."
                        )
                    os.chmod(tmp, 0o644)
                os.replace(tmp, final)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            self.log.info(
                "Released feedback for '%s' on '%s/%s/%s' (%s), readable by them alone",
                student_id, self.coursedir.course_id, self.coursedir.assignment_id,
                notebook_id, timestamp,
            )  # fmt: skip
