"""Tests of the 腾讯问卷 connector and its local stand-in (stand_in.py)."""
