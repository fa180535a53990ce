"""Service Hall Scorecard."""
