"""Active-learning benchmarks: simulated labelling on Davidson (`simulate`) and cycle cost at scale (`scale`)."""
