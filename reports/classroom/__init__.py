"""The classroom: a student's own layers graded by the parity suite, and the starter file they begin from.

``cnn-parity check FILE.py`` runs the file's code, as pytest runs a test file, and puts each of the
book's names it defines (:data:`NAMES`) through the parity cases and worked examples that the name's
signature can express, in float64 and float32, against torch — the suite's cases, records and
tolerances. A failing name gets a diagnosis: the known bugs and the book's own conventions whose
failure signatures are closest to the student's (``signatures``). ``cnn-parity exercise DIR`` writes
the starter file (``exercise``).

``answer_key``   the reference behind the book's names and signatures: the starter's source, the
                 "student" whose bugs give the signatures, and the answers a test pastes in
``grading``      which cases a name's signature can express, run against torch -> records (torch)
``known``        the book's own conventions as variants of the answer key, each with its catalog entry
``signatures``   failure signatures, their similarity, the diagnosis, and the committed signatures file
``isolation``    the child process that imports and grades the file, with a time limit per name
``worker``       the child's entry point (``python -m reports.classroom.worker``)
``verdicts``     one verdict per name from its records, and the text ``check`` prints
``exercise``     the starter file

The parent process (``cnn-parity check``) never imports torch or the student's code; the child does
both.
"""

#: The book's names the grader knows, in the order it grades and prints them.
NAMES = ("im2col", "col2im", "Convolution", "Pooling", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
         "Dropout", "SimpleConvNet", "SGD", "Momentum", "AdaGrad", "Adam")
#: The optimizers among them.
OPTIMIZER_NAMES = NAMES[-4:]

__all__ = ["NAMES", "OPTIMIZER_NAMES"]
