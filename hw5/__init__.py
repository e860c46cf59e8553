"""hw5-cnn: the HW5 CNN assignment package (build, grade, TA tools)."""
__version__ = "0.1.0"
