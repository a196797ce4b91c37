"""Builders of tiny test assets (random-weight CLIP models, synthetic videos, images).

Used by mmscore's own test suite and available to users who want to test pipelines without
downloading weights. Everything is deterministic for a given seed.
"""
