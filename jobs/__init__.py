"""Worker-side work: ingest, ranking, circulars. Never imports Flask; referenced by dotted name."""
