"""Pulumi ComponentResources of the geo-proximity delivery stack, and the pure pieces they use."""
