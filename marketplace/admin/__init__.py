"""Administration: the platform's users, their roles and coordinators' regions (CLI for a first start)."""
