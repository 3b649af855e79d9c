"""Showcase pipeline files, shipped as package data so they are found by name after ``pip install``."""
