"""`wanplan report`: a static HTML gallery of the outputs, for people and CI artifacts."""
