"""The one source of truth for MNIST's geometry and normalisation.

Training, live preprocessing, export and the GUI all import these names;
nothing else in the project may spell the numbers out again.
"""

from __future__ import annotations

#: Side of an MNIST image, in pixels.
MNIST_SIZE = 28
#: MNIST digits were size-normalised to fit a 20x20 box (aspect kept), then
#: placed by their centre of mass in the 28x28 frame.
MNIST_BOX = 20
#: Mean and standard deviation of MNIST's training pixels scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
#: The ten digits: the classes of MNIST, and of a model without "not a digit".
NUM_CLASSES = 10
#: The class index of "not a digit" in a model with an eleventh class
#: (ModelConfig.num_classes == NOT_A_DIGIT + 1): letters and scribbles it
#: should decline rather than name as a digit (see digitpad.data.nondigits).
NOT_A_DIGIT = 10

#: Bumped whenever preprocessing changes in a way that changes what a model
#: sees; checkpoints record it and loading refuses a mismatch.
PREPROCESS_VERSION = 1
