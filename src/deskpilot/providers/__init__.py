"""Model providers (embeddings, later LLMs) and the offline model files they load."""
