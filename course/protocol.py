"""What crosses a process boundary while grading, as data: each is a dataclass that travels as JSON
in a file (or, on Dask, as the dataclass itself), never as text printed by one process and parsed
by another.

    Task, Result   coordinator → worker → coordinator: one notebook to grade, and how it went
    Verdicts       verifier → the process executing the notebook: each test cell's points, and
                   why a cell failed as a Message (Japanese and English, never split from one text)
    NotGraded      the executing process, or nbgrader's plugin → the coordinator: why a notebook
                   has no grade
    Autograde,     the coordinator → its nbgrader process (course/grading/autograde.py) → the
    Autograded     coordinator, a line of JSON each: one notebook to autograde, and nbgrader's exit code
"""

import dataclasses
import json
from pathlib import Path

from course_kernel.settings import Settings


@dataclasses.dataclass
class Task:
    name: str  # student/assignment, for messages
    assignment: str  # the kernel's folder is named after it: it picks the assignment's budget
    notebook: str  # nbformat JSON, hidden tests included
    files: dict  # {path relative to the notebook's folder: bytes}: the submission's other files
    settings: dict  # course_kernel.settings.CARRIED, as the coordinator has them
    timeout: float = Settings.notebook_timeout_s  # wall seconds for the whole notebook
    fingerprint: dict = dataclasses.field(default_factory=dict)  # the coordinator's; {} to skip the check
    # The course's own reference solution (calibration): no verifier (its thresholds may not exist
    # yet), and its kernel may import `course`. A student's notebook: never.
    reference: bool = False
    gpu: bool = False  # it holds a GPU of its worker (the Dask resource GPU): its kernel may use it


@dataclasses.dataclass
class Result:
    notebook: str | None  # executed; None when it could not be
    problem: str | None  # why it could not be, or None
    log: str  # the execution's own output: nbclient's, the sandbox's, TensorFlow's
    seconds: float
    worker: str  # the host that ran it


@dataclasses.dataclass
class Message:
    """Why a check failed, in the two languages a test's message has."""

    ja: str
    en: str

    def __str__(self) -> str:  # as students see it in the notebook: Japanese, then English
        return f"{self.ja}\n{self.en}"


class CheckFailed(AssertionError):
    """A check's failure, carrying its Message."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


@dataclasses.dataclass
class Verdicts:
    verdicts: dict = dataclasses.field(default_factory=dict)  # {test cell: None (passed) or a Message as a dict}
    measured: dict = dataclasses.field(default_factory=dict)  # {model: test accuracy}
    error: str | None = None  # the course's own problem (a threshold not calibrated): nothing is graded


@dataclasses.dataclass
class NotGraded:
    reason: str  # in words for the instructor, e.g. "its kernel died: ..."


@dataclasses.dataclass
class Autograde:
    assignment: str
    student: str
    log: str  # the file nbgrader's output goes to
    outcome: str  # where a NotGraded goes, when the notebook is not graded


@dataclasses.dataclass
class Autograded:
    exit_code: int  # `nbgrader autograde`'s: 0 when graded


def dumps(record) -> str:
    """`record` as one line of JSON."""
    return json.dumps(dataclasses.asdict(record), ensure_ascii=False)


def loads(kind, line: str):
    return kind(**json.loads(line))


def write(record, path: Path) -> None:
    path.write_text(dumps(record), "utf-8")


def read(kind, path: Path):
    """The `kind` record at `path`, or None where there is none (the writer never got that far)."""
    try:
        return kind(**json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        return None
