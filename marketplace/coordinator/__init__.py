"""The coordinator's area: verifying organizations and moderating listings in the coordinator's regions."""
