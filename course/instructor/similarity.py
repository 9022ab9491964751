"""Who copied whom: a similarity report of the notebooks as handed in (before or after grading).

    course similarity                 # every assignment with submissions
    course similarity cnn pooling     # these only

Writes similarity.csv and similarity.html beside grades.csv. Per assignment and per task (each
solution cell, by its grade id) it compares only what the student wrote: the released notebook's
code in the same cell is starter code and never counts, and neither does the instructor's own
solution in source/ (answers equal to it are listed apart). What several students share weighs
less the more of them share it, and a short answer scores little however alike. Three kinds of
evidence:

- code: winnowed fingerprints of the cell's tokens (copydetect's tokenizer and winnowing), names
  and comments ignored, so renamed variables, new comments and moved lines still match;
- text: character 5-grams of the written answers (Japanese has no word boundaries);
- outputs: the same training logs, printed values or figures in two notebooks. Two runs of a
  `fit` in Colab never print the same losses: shared outputs mean one executed notebook was
  handed in twice, whatever the code says.

A score is evidence for a person to read, never a verdict: nothing here changes a grade.
Pairs are found through an index of fingerprints, not by comparing every two students.
"""

import argparse
import base64
import csv
import functools
import hashlib
import io
import itertools
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course.grading.intake import normalised_name
from course.templates import render

CSV = "similarity.csv"
HTML = "similarity.html"
TEMPLATES = Path(__file__).with_name("templates")
K, WINDOW = 12, 4  # code: k-grams of 12 filtered characters, one fingerprint per 4 (a filtered line is ~12)
TEXT_N = 5  # written answers: character 5-grams
# A number printed with 4 or more decimals (a loss, an accuracy): a run's own, unlike shapes or counts.
RUN_NUMBER = re.compile(r"\d\.\d{4,}")
SHOWN_TASK_SCORE = 0.3  # a pair's page shows side by side the tasks it shares at least this much of
# A task's score is full only when the shared, uncommon part is at least this long (fingerprints of
# code: about 12 + 4 × 39 = 168 filtered characters, five or six lines of a lecture's code; 5-grams of
# text: about a sentence); shorter, it is scaled down. copydetect counts no match under 25 filtered
# characters, JPlag none under 12 Python tokens: one such match is not enough to call a task copied.
FULL_MATCH = {"code": 40, "text": 40, "outputs": 1}
# A fingerprint more students than this hold would weigh less than 1/20: it is left out, as the
# class's, not evidence (300 students holding one would make 45,000 pairs).
MOST_HOLDERS = 20
LISTED_SCORE = 0.05  # a pair with less evidence than this is not listed
GROUP_LINK, CLUSTER_SCORE = 0.1, 0.8  # a group: linked students whose evidence with the others adds up to 0.8
REFERENCE_SHARE = 0.8  # a student's task whose fingerprints are this much the reference solution's equals it


@dataclass
class Work:
    """What one student wrote in one assignment's notebook."""

    student: str
    code: dict = field(default_factory=dict)  # {task: the code they wrote, starter lines removed}
    text: dict = field(default_factory=dict)  # {task: their written answer}
    outputs: set = field(default_factory=set)  # digests of their run's own outputs
    shown: dict = field(default_factory=dict)  # {digest: what the output was, for the report}


@dataclass
class Reference:
    """The instructor's solution of one assignment, per task: set aside like starter code."""

    code: dict = field(default_factory=dict)  # {task: code fingerprints}
    text: dict = field(default_factory=dict)  # {task: text fingerprints}


@dataclass
class Pair:
    assignment: str
    students: tuple
    score: float  # the highest of the task scores, 0 to 1
    tasks: dict  # {task: (kind, score)}
    outputs: list  # the run's own outputs both notebooks hold


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def starter(release: Path) -> dict:
    """{task: the lines the released notebook gives in that solution cell}."""
    nb = nbformat.read(release, as_version=4)
    return {_grade_id(c): {line.strip() for line in c.source.splitlines() if line.strip()}
            for c in nb.cells if _is_solution(c)}


def reference(source: Path, given: dict) -> Reference:
    """The solution cells of the source notebook, the release's lines and nbgrader's markers aside."""
    found = Reference()
    if not source.exists():
        return found
    work = read_work("the reference", source, {t: lines | {"### BEGIN SOLUTION", "### END SOLUTION"}
                                               for t, lines in given.items()})
    found.code = {task: code_fingerprints(code) for task, code in work.code.items()}
    found.text = {task: text_fingerprints(text) for task, text in work.text.items()}
    return found


def read_work(student: str, notebook: Path, given: dict) -> Work:
    nb = nbformat.read(notebook, as_version=4)
    work = Work(student)
    for cell in nb.cells:
        task = _grade_id(cell)
        if task in given:
            lines = [line for line in cell.source.splitlines() if line.strip() and line.strip() not in given[task]]
            if cell.cell_type == "code":
                work.code[task] = "\n".join(lines)
            else:
                work.text[task] = "\n".join(lines)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                for digest, shown in _own_outputs(output):
                    work.outputs.add(digest)
                    work.shown[digest] = shown
    return work


def _own_outputs(output):
    """(digest, what to show) of each part of an output that only this run could have printed: a
    line with a run's own numbers, or a figure."""
    if output.get("output_type") == "stream" or "text/plain" in output.get("data", {}):
        text = output.get("text") or output["data"]["text/plain"]
        for line in (text if isinstance(text, str) else "".join(text)).splitlines():
            if len(RUN_NUMBER.findall(line)) >= 1:
                yield hashlib.sha256(line.strip().encode()).hexdigest(), line.strip()
    png = output.get("data", {}).get("image/png")
    if png:
        yield hashlib.sha256(png.encode()).hexdigest(), "a figure (the same image, byte for byte)"


@functools.cache  # the pairs and the reference solution's list ask for the same answers
def code_fingerprints(code: str) -> frozenset:
    """copydetect's winnowing of the cell's filtered code, with its k-grams hashed the same way in
    every run (copydetect's own `hash()` changes with each process's hash seed, and so would the
    fingerprints chosen and every score)."""
    import numpy as np
    from copydetect.utils import filter_code, winnow

    filtered, _ = filter_code(code, "cell.py")
    if len(filtered) < K:
        return frozenset()
    kgrams = (filtered[i:i + K] for i in range(len(filtered) - K + 1))
    hashes = np.array([int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little", signed=True)
                       for g in kgrams])
    selected, _ = winnow(hashes, WINDOW)
    return frozenset(int(h) for h in selected)


def text_fingerprints(text: str) -> set:
    compact = re.sub(r"[\s、。，．,.「」（）()：:・]+", "", text)
    return {compact[i:i + TEXT_N] for i in range(len(compact) - TEXT_N + 1)}


def _scores(prints: dict, full_match: int, set_aside: frozenset = frozenset()) -> dict:
    """{(a, b): score} for every pair sharing fingerprints, from {student: set}, through an index
    (fingerprint → students). What `set_aside` holds (the reference solution) is nobody's. A shared
    fingerprint weighs 1 / (holders − 1): whole when two students share it, next to nothing when
    many do, and nothing when more than MOST_HOLDERS do. The score is the weight shared over the
    smaller side's own fingerprints (those that count), but never over fewer than `full_match`, so
    a short answer scores little however alike."""
    index = defaultdict(list)
    for student, found in prints.items():
        for fingerprint in found - set_aside:
            index[fingerprint].append(student)
    shared, own = defaultdict(float), defaultdict(int)  # own: each student's fingerprints that are not the class's
    for holders in index.values():
        if len(holders) <= MOST_HOLDERS:
            for student in holders:
                own[student] += 1
            for pair in itertools.combinations(sorted(holders), 2):
                shared[pair] += 1 / (len(holders) - 1)
    return {pair: weight / max(full_match, min(own[pair[0]], own[pair[1]])) for pair, weight in shared.items()}


def equal_to_reference(works: list, ref: Reference) -> dict:
    """{task: [students whose answer is the reference solution, or a renaming of it]}."""
    equal = defaultdict(list)
    for work in works:
        for kind, fingerprints in (("code", code_fingerprints), ("text", text_fingerprints)):
            for task, answer in getattr(work, kind).items():
                mine, theirs = fingerprints(answer), getattr(ref, kind).get(task, set())
                if mine and len(mine & theirs) >= REFERENCE_SHARE * len(mine):
                    equal[task].append(work.student)
    return dict(sorted(equal.items()))


def compare(assignment: str, works: list, ref: Reference | None = None) -> list:
    """The pairs of `works` (one assignment's) with evidence, highest score first."""
    ref = ref or Reference()
    tasks = defaultdict(dict)  # {(a, b): {task: (kind, score)}}
    kinds = ({t for w in works for t in w.code}, "code", lambda w, t: code_fingerprints(w.code.get(t, ""))), \
        ({t for w in works for t in w.text}, "text", lambda w, t: text_fingerprints(w.text.get(t, "")))
    for names, kind, fingerprints in kinds:
        for task in sorted(names):
            set_aside = frozenset(getattr(ref, kind).get(task, ()))
            prints = {w.student: fingerprints(w, task) for w in works}
            for pair, score in _scores(prints, FULL_MATCH[kind], set_aside).items():
                if score >= LISTED_SCORE:
                    tasks[pair][task] = (kind, round(score, 3))
    outputs = _scores({w.student: w.outputs for w in works}, FULL_MATCH["outputs"])
    shown = {d: s for w in works for d, s in w.shown.items()}
    by_student = {w.student: w for w in works}
    pairs = []
    for pair in set(tasks) | {p for p, score in outputs.items() if score >= LISTED_SCORE}:
        same = by_student[pair[0]].outputs & by_student[pair[1]].outputs
        evidence = dict(tasks.get(pair, {}))
        if outputs.get(pair, 0) >= LISTED_SCORE:
            evidence["outputs"] = ("outputs", round(outputs[pair], 3))
        score = max(s for _, s in evidence.values())
        pairs.append(Pair(assignment, pair, score, evidence, sorted(shown[d] for d in same)[:5]))
    return sorted(pairs, key=lambda p: (-p.score, p.students))


def clusters(pairs: list) -> list:
    """Groups of three or more students who share one task's work: linked by task scores of at
    least GROUP_LINK, each member's scores with the others adding up to CLUSTER_SCORE (a copy
    shared by n students gives each pair about 1 / (n − 1)). [(assignment, task, [students])]."""
    found = []
    links = defaultdict(lambda: defaultdict(dict))  # {(assignment, task): {student: {other: score}}}
    for p in pairs:
        for task, (_, score) in p.tasks.items():
            if score >= GROUP_LINK:
                a, b = p.students
                links[p.assignment, task][a][b] = links[p.assignment, task][b][a] = score
    for (assignment, task), graph in sorted(links.items()):
        members = set(graph)
        while True:  # leave out whoever shares too little with the rest
            weak = {s for s in members if sum(v for o, v in graph[s].items() if o in members) < CLUSTER_SCORE}
            if not weak:
                break
            members -= weak
        seen = set()
        for start in sorted(members):
            if start in seen:
                continue
            group, todo = set(), [start]
            while todo:
                student = todo.pop()
                if student not in group:
                    group.add(student)
                    todo.extend(set(graph[student]) & members - group)
            seen |= group
            if len(group) >= 3:
                found.append((assignment, task, sorted(group)))
    return found


def marked(kind: str, mine: str, theirs: str) -> list:
    """[(a line or sentence of `mine`, whether `theirs` holds it too)], names and spacing aside."""
    if kind == "text":
        other = text_fingerprints(theirs)
        pieces = [(s, text_fingerprints(s)) for s in re.split(r"(?<=[。．.])", mine) if s.strip()]
        return [(s, len(grams & other) >= max(1, len(grams) // 2)) for s, grams in pieces]
    from copydetect.utils import filter_code

    def shape(line):  # "" for a blank line
        return filter_code(line.strip(), "line.py")[0] if line.strip() else ""

    other = {shape(line) for line in theirs.splitlines()}
    shaped = [(line, shape(line)) for line in mine.splitlines()]
    return [(line, len(form) > 3 and form in other) for line, form in shaped]


def submissions(course: Path, assignment: str) -> list:
    """[(student, notebook)] handed in for `assignment` (a Colab download's name is understood)."""
    found = []
    for folder in sorted(p for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir()):
        notebooks = [p for p in folder.iterdir() if normalised_name(p.name) == f"{assignment}.ipynb"]
        if len(notebooks) == 1:
            found.append((folder.parent.name, notebooks[0]))
    return found


def _histogram(scores: list) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 2.2))
    axes = figure.subplots()
    axes.hist(scores, bins=[i / 20 for i in range(21)], color="#4878a8", rwidth=0.9)
    axes.set_xlabel("pair score")
    axes.set_ylabel("pairs")
    axes.set_yscale("log")
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    return base64.b64encode(png.getvalue()).decode()


def report(course: Path, assignments: list) -> tuple:
    """Compare every assignment's submissions; write similarity.csv and similarity.html.
    (pairs, clusters)."""
    pairs, sections = [], []
    works_by_assignment, references = {}, {}
    for assignment in assignments:
        release = course / "release" / assignment / f"{assignment}.ipynb"
        given = starter(release)
        ref = reference(course / "source" / assignment / f"{assignment}.ipynb", given)
        works = []
        for student, path in submissions(course, assignment):
            try:
                works.append(read_work(student, path, given))
            except Exception as error:  # what `course grade` reports as not gradable; compared with no one here
                print(f"WARNING {student}/{assignment} not compared: {path.name} is not a readable notebook "
                      f"({type(error).__name__})", file=sys.stderr)
        found = compare(assignment, works, ref)
        pairs += found
        works_by_assignment[assignment] = {w.student: w for w in works}
        references[assignment] = equal_to_reference(works, ref)
        sections.append({"name": assignment, "students": len(works), "pairs": len(found),
                         "histogram": _histogram([p.score for p in found]) if found else None})
    groups = clusters(pairs)
    with open(course / CSV, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["assignment", "student_a", "student_b", "score", "evidence"])
        for p in pairs:
            evidence = "; ".join(f"{task} {kind} {score:g}" if task != kind else f"{kind} {score:g}"
                                 for task, (kind, score) in sorted(p.tasks.items()))
            writer.writerow([p.assignment, *p.students, f"{p.score:g}", evidence])
    shown = [p for p in pairs if p.score >= 0.5][:100]
    details = []
    for p in shown:
        a, b = (works_by_assignment[p.assignment][s] for s in p.students)
        sides = []
        for task, (kind, score) in sorted(p.tasks.items(), key=lambda t: -t[1][1]):
            if kind != "outputs" and score >= SHOWN_TASK_SCORE:
                mine, theirs = (getattr(w, kind).get(task, "") for w in (a, b))
                sides.append({"task": task, "kind": kind, "score": score, "left": marked(kind, mine, theirs),
                              "right": marked(kind, theirs, mine)})
        details.append({"pair": p, "tasks": sides})
    (course / HTML).write_text(render(TEMPLATES, "similarity.html.j2", sections=sections, pairs=pairs[:200],
                                      details=details, clusters=groups, references=references), "utf-8")
    return pairs, groups, references


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: every one with submissions)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    released = sorted(p.name for p in (course / "release").iterdir() if p.is_dir()) if (course / "release").is_dir() \
        else []
    assignments = args.assignments or [a for a in released if any((course / "submitted").glob(f"*/{a}"))]
    missing = [a for a in assignments if a not in released]
    if missing or not assignments:
        print(f"No released notebook for {', '.join(missing) or 'any assignment'} in {course / 'release'}: run "
              "`make release` (the released notebook says which code is starter code).", file=sys.stderr)
        return 2
    pairs, groups, references = report(course, assignments)
    for p in pairs[:10]:
        kinds = sorted({kind for kind, _ in p.tasks.values()})
        print(f"{p.assignment:<12} {p.students[0]:<12} {p.students[1]:<12} {p.score:.2f}  {', '.join(kinds)}")
    for assignment, task, students in groups:
        print(f"group in {assignment}/{task}: {', '.join(students)}")
    for assignment, tasks in references.items():
        for task, students in tasks.items():
            print(f"{len(students)} student(s)' {assignment}/{task} equals the reference solution: "
                  f"{', '.join(students)}")
    print(f"\n{len(pairs)} pairs with shared work: {course / HTML}, {course / CSV}. A score is evidence to read, "
          "not a verdict.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
