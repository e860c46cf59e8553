"""Reference answers for the autograded written questions.

Trusted grading only: never shipped to students, never readable by the student's process
while it runs (on Gradescope it sits in /autograder/source, closed to the sandbox user).
P3 has no stored answer: every student has their own numbers, and ``hw5.grading.answers``
computes the expected output from the student ID the notebook exports.
"""
P1_1_ANSWER = "C"

# Wrong option -> what to reconsider. Hints exist for every wrong option only, so they must stay
# here: shipped, their keys would name the right one.
P1_1_HINTS = {
    "A": "The activation is applied after the layer has combined the inputs with its weights.",
    "B": "Look again at what the layer adds to the weighted sum before the activation.",
    "D": "The weights are parameters shared by every example, not a per-example value fed to "
         "the activation.",
}
