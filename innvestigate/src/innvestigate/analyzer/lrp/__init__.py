"""Layer-wise relevance propagation: rules, composites and the LRP analyzers."""
