"""Renderers: terminal, JSON, Markdown."""
