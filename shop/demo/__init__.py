"""Demo and benchmark data: `flask seed-demo` and `flask seed-bulk`."""
