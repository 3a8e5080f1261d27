"""The answer-evaluation harness: labelled bundles in, per-metric scores and failing bundles out (cnaps eval-answers)."""
