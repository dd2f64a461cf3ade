"""The A/B arena: blind pairwise votes between methods, the vote store, ratings and surveys.

``store`` keeps battles and votes (append-only SQLite, optionally mirrored to a Hub dataset),
``ratings`` fits Bradley-Terry scores to the votes, ``survey`` runs fixed studies over them.
"""
