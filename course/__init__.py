"""The Keras course's grading and instructor side: data, the lectures' expected cells and checks,
the verifier, the grading machinery and the instructor's commands.

Student notebooks never import this package (they must run in Colab as they stand), and neither
can a grading kernel: the sandbox mounts only `course_kernel`. Hidden tests import
`course_kernel.handover`.
"""
