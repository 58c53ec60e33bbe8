"""One cart across many producers, kept on the server."""
