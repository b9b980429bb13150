"""HTTP fuzzing of the reference apps (docs/resource.md, "HTTP edge")."""
