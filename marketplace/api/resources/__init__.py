"""One module per resource; each attaches its routes to ``marketplace.api.blueprint.bp``."""
