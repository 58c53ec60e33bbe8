"""Static pages the footer links to, and the language switch."""
