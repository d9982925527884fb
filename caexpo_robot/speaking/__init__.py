"""Voices: the per-language speech plan (voices.py) and the espeak-ng synthesizers (synthesizer.py)."""
