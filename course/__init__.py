"""Shared code of the Keras course: data, grading profiles, checks and instructor commands.

Student notebooks never import this package (they must run in Colab as they stand);
hidden tests, the grading kernel and the instructor commands do.
"""
