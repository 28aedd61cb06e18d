"""`make bench`: every benchmark module under benchmarks/ prints its figures beside its baseline."""
