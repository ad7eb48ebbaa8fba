"""Curated, versioned dataset exports (fine-tuning and eval formats) built from resolved feedback.

Public entry points: `resolve_label` (labels.py), `export_snapshot` (export.py), `diff_snapshots` (diff.py),
`list_versions` (versions.py); the database adapter lives in `feedback.services.datasets.source`.
"""
