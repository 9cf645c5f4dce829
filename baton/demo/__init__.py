"""The reference app: document intelligence (ingest, scan, parse, scrub, analyze, save) on
baton's public API only. Start with pipeline.py; `baton demo` runs it end to end."""
