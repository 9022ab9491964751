"""The class list, students.csv: one row per person, the folder name in submitted/ beside what
the LMS knows them by, so that one person is one folder in every assignment and the export finds
the identifier its LMS matches on without a mapping by hand.

Written by `course collect`; an instructor may correct a name or add an identifier in a
spreadsheet (it is read back as UTF-8, with or without a byte-order mark).
"""

import csv
import io
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

CLASS_LIST = "students.csv"


@dataclass
class Person:
    """What is known of one student. `participants` holds Moodle's participant numbers, which
    Moodle gives per assignment ({assignment: number})."""

    student_id: str = ""
    name: str = ""
    email: str = ""
    username: str = ""  # Moodle's username, Canvas's SIS Login ID
    id_number: str = ""  # Moodle's ID number, Canvas's SIS User ID
    lms_user_id: str = ""  # Canvas's user id
    participants: dict = field(default_factory=dict)

    def keys(self) -> set:
        """What identifies this person: equal keys are one person, whatever else differs."""
        keys = {(name, value.casefold() if name == "email" else value)
                for name in ("email", "username", "id_number", "lms_user_id") if (value := getattr(self, name))}
        keys |= {("participant", assignment, number) for assignment, number in self.participants.items()}
        if not keys and self.name:  # a download that names students only by their folders
            keys.add(("name", unicodedata.normalize("NFC", self.name)))
        return keys

    def handles(self) -> list:
        """Folder names to try for a new person, the most telling first."""
        return [self.username, self.email.split("@")[0], self.name]


COLUMNS = [f.name for f in fields(Person)]


def slug(text: str) -> str:
    """A folder name nbgrader accepts: ASCII letters, digits, `_`, `-` and `.` kept, the rest `_`
    ('' when nothing of the text is ASCII, as for a Japanese name)."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[^\w.-]", "_", text.strip(), flags=re.ASCII)
    return re.sub(r"_+", "_", text).strip("._-")


class ClassList:
    def __init__(self, people: list):
        self.people = people

    @classmethod
    def read(cls, course: Path) -> "ClassList":
        path = course / CLASS_LIST
        if not path.exists():
            return cls([])
        people = []
        for row in csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))):
            missing = [c for c in ("student_id", "name") if c not in row]
            if missing:
                raise SystemExit(f"{path} has no column {missing[0]}: it is the class list `course collect` writes "
                                 f"(columns {', '.join(COLUMNS)}); correct it, or move it away to start a new one.")
            values = {c: (row.get(c) or "").strip() for c in COLUMNS}
            values["participants"] = dict(p.split(":", 1) for p in values["participants"].split())
            people.append(Person(**values))
        return cls(people)

    def write(self, course: Path) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for person in sorted(self.people, key=lambda p: p.student_id):
            row = asdict(person)
            row["participants"] = " ".join(f"{a}:{n}" for a, n in sorted(person.participants.items()))
            writer.writerow(row)
        (course / CLASS_LIST).write_text(buffer.getvalue(), "utf-8-sig")  # Excel reads Japanese names

    def by_id(self, student_id: str) -> Person | None:
        return next((p for p in self.people if p.student_id == student_id), None)

    def find(self, person: Person) -> list:
        """The people of the list who share a key with `person` (two: the list already holds two
        people that this one would join, which a person must sort out)."""
        keys = person.keys()
        return [p for p in self.people if p.keys() & keys]

    def add(self, person: Person, fallback: str, unlisted: set = frozenset()) -> Person:
        """Enter a new person under a folder name no one else has: the first of their handles with
        something ASCII in it, else `fallback` (as `canvas-106`); `-2`, `-3`... when taken.
        `unlisted`: folders of submitted/ that no one of the list has (collected before there was
        one); a person the LMS names keeps out of them, one named by a folder takes its own."""
        taken = {p.student_id.casefold() for p in self.people}
        if ("name", person.name) not in person.keys():
            taken |= {folder.casefold() for folder in unlisted}
        base = next((s for s in map(slug, person.handles()) if s), "") or fallback
        student_id, n = base, 1
        while student_id.casefold() in taken:
            n += 1
            student_id = f"{base}-{n}"
        person.student_id = student_id
        self.people.append(person)
        return person

    @staticmethod
    def merge(known: Person, new: Person) -> list:
        """Fill what `known` lacks from `new`, unless the two differ somewhere (then nothing is
        changed); the fields where they differ."""
        fields_ = ("email", "username", "id_number", "lms_user_id")
        differ = [f"{name} {getattr(known, name)} / {getattr(new, name)}" for name in fields_
                  if getattr(known, name) and getattr(new, name) and getattr(known, name) != getattr(new, name)]
        differ += [f"participant in {a} {known.participants[a]} / {n}" for a, n in new.participants.items()
                   if known.participants.get(a, n) != n]
        if not differ:
            for name in ("name", *fields_):
                if getattr(new, name) and not getattr(known, name):
                    setattr(known, name, getattr(new, name))
            known.participants.update(new.participants)
        return differ
