"""SQL analysis: statements, schema catalog, access paths, index recommendations."""
