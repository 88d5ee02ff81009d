"""The network and everything that runs it, down to a prediction: no training code is imported here."""
