"""The Evaluate tab: where a model goes wrong, on MNIST's test set or the personal samples."""
