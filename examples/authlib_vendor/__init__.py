"""A vendor's existing authlib OAuth server gains the ID-JAG grant through xaa (see README.md)."""
