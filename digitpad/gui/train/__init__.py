"""The Train tab: data, settings, the run in a worker thread, its curves and kernels, the model panel and
fine-tuning on personal samples."""
