"""`course`: the instructor's commands in one place (`python -m course` is the same).

    course data                  # Fashion-MNIST into Keras's cache (offline: Debian's package)
    course grade [mlp1 ...]      # grade the class: grades.csv, feedback/, the class summary
    course grade-by-hand         # JupyterLab's formgrader for the written answers
    course collect ARCHIVE       # an LMS's download into submitted/
    course export --format moodle --roster ROSTER.csv   # grades for an LMS
    course return-feedback mlp1  # feedback in a zip the LMS takes back in bulk
    course publish OWNER/REPO    # Colab badges and zips of release/
    course calibrate mlp1        # thresholds from the reference solutions
    course certificates DIR      # TLS certificates for grading on several machines
    course similarity            # who copied whom: similarity.html beside grades.csv
    course demo-class            # rewrite submitted/ with the demo class

`course COMMAND --help` gives each command's options.
"""

import importlib
import sys

# command: (module with main(argv), what it does)
COMMANDS = {
    "data": ("course.data", "put Fashion-MNIST into Keras's cache"),
    "grade": ("course.instructor.grade", "grade the class"),
    "grade-by-hand": ("course.instructor.by_hand", "grade the written answers in JupyterLab's formgrader"),
    "collect": ("course.instructor.collect", "unpack an LMS's download into submitted/"),
    "export": ("course.instructor.export", "write the grades for an LMS"),
    "return-feedback": ("course.instructor.return_feedback", "feedback in a zip the LMS takes back in bulk"),
    "publish": ("course.instructor.publish", "Colab badges and an LMS zip for each assignment of release/"),
    "calibrate": ("course.instructor.calibrate", "set an assignment's thresholds from its reference solutions"),
    "certificates": ("course.grading.certificates", "make TLS certificates for grading on several machines"),
    "similarity": ("course.instructor.similarity", "a report of the notebooks that share work (who copied whom)"),
    "demo-class": ("course.instructor.demo", "rewrite submitted/ with the demo class's notebooks"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
    return "usage: course COMMAND [options]\n\ncommands:\n" + "\n".join(lines) + \
        "\n\n`course COMMAND --help` gives each command's options."


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    if args[0] not in COMMANDS:
        print(f"course: no command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    sys.argv[0] = f"course {args[0]}"  # what each command's --help shows
    return module.main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
