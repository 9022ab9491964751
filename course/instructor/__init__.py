"""The instructor's commands (`course ...`) and the reports they write."""
