"""The Keras course's grading and instructor side, by where its code runs and what it may trust:

    course/lectures/    what each lecture expects: its test cells' checks, inputs drawn at grading
                        time, references, thresholds (data, never student code)
    course/grading/     the machinery that grades one notebook or a class: sandbox, execution,
                        verifier, Dask cluster, coordinator, gradebook, nbgrader plugins
    course/instructor/  the instructor's commands (`course ...`): grade, collect, export, publish,
                        calibrate, grade by hand, the demo class, the report
    course/data.py      Fashion-MNIST, checked by SHA-256

Imports point one way: instructor → grading → lectures → course_kernel. Student notebooks never
import this package (they must run in Colab as they stand), and neither can a grading kernel: the
sandbox mounts only `course_kernel`, whose hidden-test hand-over imports nothing of `course`.
"""
