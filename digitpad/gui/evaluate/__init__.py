"""The Evaluate tab: the confusion matrix and worst mistakes of a model on MNIST's test set or the personal samples,
computed in a worker thread."""
