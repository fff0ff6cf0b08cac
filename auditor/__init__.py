"""audit: a static and live auditor for the database and LLM performance of Python code."""

__version__ = "0.1.0"
