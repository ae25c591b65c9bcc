"""First words of the grading kernelspec's argv (``python course_grader/launch.py``).

Runs as the grader's user, just before the sandbox: ``UID RUNDIR PIDFILE -- CMD...``.
Dies with the grader (``PR_SET_PDEATHSIG``), writes its process id where only the grader
can read it, gives the kernel's socket folder (and the connection file jupyter_client
has just written there) to the sandbox's user, drops its own output (a student must not
flood the grader's log), and becomes the sandbox (``exec``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys


def main(argv: list[str]) -> None:
    uid, rundir, pidfile, sep, *cmd = argv
    if sep != "--" or not cmd:
        sys.exit("usage: python course_grader/launch.py UID RUNDIR PIDFILE -- CMD...")
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))
    if uid != "-":
        for dirpath, dirs, files in os.walk(rundir):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirs + files]:
                os.lchown(name, int(uid), int(uid))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
