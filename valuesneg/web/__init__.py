"""`valuesneg serve`: a web interface for human parties and for browsing runs."""
