"""Helpers the tests (and some benches) share: media probes, loopback servers, service stacks,
the lab and browser page, drills. Tests import them as `support.<module>`."""

from pathlib import Path

#: The repository's root, for tests that check its files (Dockerfile, compose, templates).
REPO = Path(__file__).resolve().parents[2]
#: Templates made for tests (`blip`: one second of solid colour), beside the real ones.
TEMPLATES = Path(__file__).resolve().with_name("templates")
