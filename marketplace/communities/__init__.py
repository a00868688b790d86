"""Communities of organizations: clusters, associations, technoparks (open, closed or secret)."""
