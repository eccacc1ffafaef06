"""问卷星 Wenjuanxing: signed pushes, the export for reconciliation, personal links.

``platform.py`` is its ``Platform`` descriptor; ``survey.py`` the structure and mapping;
``push.py`` the signed push; ``export.py`` the export files; ``records.py`` one answer as one
record, whichever way it came. See docs/platforms/wenjuanxing.md.
"""
