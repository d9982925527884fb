"""Listening: audio format and capture, offline Vosk recognition, language choice, models."""
