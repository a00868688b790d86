"""The JSON API ``/api/v1`` for integrations: token authentication, problem+json errors, OpenAPI 3 document.

``marketplace.api.views.bp`` is the blueprint; registering it also registers the ``cosmos api token …`` commands.
"""
