"""Instructor tooling: sandboxed autograding of the course's nbgrader assignments."""
