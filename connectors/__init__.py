"""Connectors: everything platform-specific. Nothing outside this package knows a platform's format.

The framework (``base``, ``registry``, ``canonical``, ``mapping``, ``http``, ``files``) sits beside
one package per platform; ``registry`` is the one explicit list of platforms.
"""
