"""Training data: MNIST and its download, and the images made to go with it. No torch model here."""
