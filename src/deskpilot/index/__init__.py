"""The index both ingestion and retrieval work on: the document and chunk model, the vector store, the term
normaliser. It sits below them, so neither has to import the other."""
