"""Adapters that let engines' trainers use the project's selectors."""
