"""The part of the course that runs inside a student's grading kernel, and the only part the
sandbox lets that kernel import: the training budget (`profiles`) and the hand-over to the
verifier (`handover`). It describes and saves what a hidden test hands over; it holds no
expected answer and imports nothing from the `course` package while grading."""
