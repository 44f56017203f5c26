#!/usr/bin/env python3
"""Replaces the defaults block of docs/configuration.md with the YAML on
stdin (the output of `tracehound config defaults`)."""
import pathlib, sys

doc = pathlib.Path(__file__).resolve().parent.parent / "docs/configuration.md"
s = doc.read_text()
start = s.index("```yaml\n") + len("```yaml\n")
end = s.index("```", start)
doc.write_text(s[:start] + sys.stdin.read() + s[end:])
