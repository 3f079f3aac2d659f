"""File adapters around the pure core: lineage files, run outputs, user-facing errors."""
