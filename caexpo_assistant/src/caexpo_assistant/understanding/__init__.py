"""Understanding visitors: normalisation, slots (days, times, ordinals, yes/no, names), meaning (embeddings)
and the router that combines them. Pure modules: no web framework, no ROS."""
