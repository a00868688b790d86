"""Documents: files attached to listings, tender lots and responses, organizations (certificates) and, through the
owner registry, to other slices' objects; one storage interface (a folder or an S3-compatible store)."""
