"""Reference answers for the autograded written questions.

Trusted grading only: never shipped to students, never readable by the student's process
while it runs (on Gradescope it sits in /autograder/source, closed to the sandbox user).
"""
P1_1_ANSWER = "C"

# Keras' Conv2D on spec.P3_INPUT with spec.P3_KERNEL: cross-correlation, stride 1, 'valid'.
P3_ANSWER = (
    (-1, 1, 2, 8),
    (2, 4, -1, 0),
    (6, 6, 7, 1),
    (4, 5, 2, 6),
)
