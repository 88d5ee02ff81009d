"""Training data: MNIST and its download, augmentation, the pen styles MNIST lacks, pen-path drawing, synthetic
letters and other non-digits, and re-drawn variants of a sample. No torch model here."""
