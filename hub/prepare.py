"""Prepare one machine for the class (run as root by `make hub`, before JupyterHub starts).

Checks, and fixes where the fix is plain, what the class's privacy rests on:

* the instructor is the owner of the course folder and a member of the instructors' group;
* the course's Python environment is readable by every account (learners' servers run
  it), while solutions/, .git/ and the grading state are readable by the instructor alone;
* the exchange (one folder, ``LSTM_COURSE_EXCHANGE``) exists with owners and modes that
  keep learners apart (see course_exchange.py): root 0755 root:root; the course folder
  and outbound/ 0755, inbound/ 3733 (setgid, sticky, not listable; a default ACL gives
  the instructors' group what learners put there), feedback/ 0711, all owned by the
  instructor and the instructors' group;
* every learner's home is 0700 (the assignment a learner fetched, and the secret that
  names their feedback, live there).

Usage: ``python hub/prepare.py`` (settings from the environment, as in
jupyterhub_config.py). Exits 2 with the reason when something cannot be fixed here.
"""

from __future__ import annotations

import grp
import os
import pwd
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COURSE_ID = "lstm-course"

#: course-folder entries only the instructor may read (created when missing)
PRIVATE = ("solutions", ".git", "gradebook.db", "submitted", "autograded", "feedback",
           "grades", "logs", ".nbgrader.log")
PRIVATE_DIRS = ("submitted", "autograded", "feedback", "grades")


class NotReady(RuntimeError):
    pass


def say(msg: str) -> None:
    print(f">> hub: {msg}", flush=True)


def unreachable_for(user: str, paths: list[str]) -> str | None:
    """The first of ``paths`` that ``user`` cannot read (folders: search), else None.

    Checked in a child process running as ``user`` (its groups included), so that modes,
    groups and ACLs all count, exactly as for the user's server."""
    pw = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the user, test, report
        os.close(r)
        try:
            os.setgroups(os.getgrouplist(user, pw.pw_gid))
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            bad = next((p for p in paths
                        if not os.access(p, os.X_OK if os.path.isdir(p) else os.R_OK)), "")
        except Exception as err:
            bad = f"(could not check: {err})"
        os.write(w, bad.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        bad = f.read()
    os.waitpid(pid, 0)
    return bad or None


def members(group: str) -> list[str]:
    g = grp.getgrnam(group)
    names = set(g.gr_mem)
    names |= {u.pw_name for u in pwd.getpwall() if u.pw_gid == g.gr_gid}
    return sorted(names)


def prepare(course: str, exchange: str, python: str, instructors: str, learners: str) -> None:
    if os.geteuid() != 0:
        raise NotReady("run `make hub` as root: JupyterHub starts each person's server "
                       "under their own Unix account")
    for g in (instructors, learners):
        try:
            grp.getgrnam(g)
        except KeyError:
            raise NotReady(f"no Unix group {g!r}: create it with `groupadd {g}` "
                           "(see README: add learners)") from None
    st = os.stat(course)
    owner = pwd.getpwuid(st.st_uid)
    if owner.pw_uid == 0:
        raise NotReady(f"{course} belongs to root: the course folder must belong to the "
                       f"instructor's account, e.g. `chown -R teacher: {course}`")
    if owner.pw_name not in members(instructors):
        raise NotReady(f"{owner.pw_name} owns {course} but is not in group {instructors}: "
                       f"`usermod -aG {instructors} {owner.pw_name}`")
    ginst = grp.getgrnam(instructors).gr_gid

    # The environment: learners' servers run it.
    env = os.path.dirname(os.path.dirname(python))
    needed = [python, os.path.realpath(python), os.path.join(env, "pyvenv.cfg"),
              os.path.join(env, "bin", "jupyterhub-singleuser")]
    culprit = None
    for user in members(learners) + members(instructors):
        culprit = unreachable_for(user, needed)
        if culprit:
            break
    if culprit:
        raise NotReady(
            f"{user} cannot use {env}: {culprit} is not readable/searchable by them "
            "accounts (a folder under /root is not; nor is a pyenv Python there). Put the "
            "course where every account can reach it, e.g. /srv/lstm-course, build its "
            ".venv with a Python every account can run (e.g. Debian's python3), and run "
            "`make hub` there.")
    # The course folder: searchable (to reach .venv), not listable; private parts 0700.
    os.chmod(course, 0o711)
    for d in PRIVATE_DIRS:
        p = os.path.join(course, d)
        if not os.path.exists(p):
            os.mkdir(p, 0o700)
            os.chown(p, owner.pw_uid, owner.pw_gid)
    for name in PRIVATE:
        p = os.path.join(course, name)
        if os.path.lexists(p) and not os.path.islink(p):
            os.chmod(p, 0o700 if os.path.isdir(p) else 0o600)
    say(f"course folder {course}: instructor {owner.pw_name}; solutions and grading state "
        "private to them")

    # The exchange.
    os.makedirs(exchange, exist_ok=True)
    os.chown(exchange, 0, 0)
    os.chmod(exchange, 0o755)
    layout = [
        (os.path.join(exchange, COURSE_ID), 0o755),
        (os.path.join(exchange, COURSE_ID, "outbound"), 0o755),
        (os.path.join(exchange, COURSE_ID, "inbound"), 0o3733),
        (os.path.join(exchange, COURSE_ID, "feedback"), 0o711),
    ]
    for path, mode in layout:
        if os.path.islink(path):
            raise NotReady(f"{path} is a symbolic link: remove it")
        os.makedirs(path, exist_ok=True)
        os.chown(path, owner.pw_uid, ginst)
        os.chmod(path, mode)
    sys.path.insert(0, HERE)
    from course_exchange import set_inbound_default_acl

    try:
        set_inbound_default_acl(os.path.join(exchange, COURSE_ID, "inbound"), ginst)
    except OSError as err:
        raise NotReady(f"the exchange's file system has no POSIX ACLs ({err}): put "
                       "EXCHANGE on one that has (ext4, xfs, NFSv3 with acl)") from None
    say(f"exchange {exchange}: root 0755 root:root; {COURSE_ID}/outbound 0755, inbound 3733 "
        f"with a default ACL for {instructors}, feedback 0711, owned by "
        f"{owner.pw_name}:{instructors}")

    # Learners' homes.
    for name in members(learners):
        home = pwd.getpwnam(name).pw_dir
        if os.path.isdir(home) and os.stat(home).st_mode & 0o077:
            os.chmod(home, 0o700)
            say(f"home of {name} was readable by others: now 0700")
    say(f"class: instructors = {', '.join(members(instructors))}; "
        f"{len(members(learners))} learner(s) in group {learners}")


def main() -> int:
    course = os.path.abspath(os.environ.get("LSTM_COURSE_DIR", os.path.dirname(HERE)))
    try:
        prepare(
            course=course,
            exchange=os.environ.get("LSTM_COURSE_EXCHANGE", "/usr/local/share/nbgrader/exchange"),
            python=os.environ.get("LSTM_COURSE_PYTHON", sys.executable),
            instructors=os.environ.get("LSTM_COURSE_INSTRUCTORS_GROUP", "lstm-instructors"),
            learners=os.environ.get("LSTM_COURSE_LEARNERS_GROUP", "lstm-learners"),
        )
    except NotReady as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
