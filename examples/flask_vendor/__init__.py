"""A Flask "notes" API that accepts ID-JAGs (Cross App Access) through xaa (see README.md)."""
