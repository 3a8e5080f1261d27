"""The answer-evaluation harness (cnaps eval-answers): labelled bundles in, scores and failing bundles out."""
