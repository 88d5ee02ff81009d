"""The network and everything that runs it: checkpoints, the stored temperature, tensor and thread helpers, inference,
the reader of a drawing's characters, the gate, explanations, evaluation, export and the recorded accuracy.

A prediction needs nothing above this layer: no training code is imported here."""
