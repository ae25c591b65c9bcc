"""Instructor tooling: sandboxed autograding of the course's nbgrader assignments."""

__version__ = "1.0.0"
