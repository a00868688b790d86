"""The contract tests reuse the API's world (two suppliers, a buyer with tenders, coordinators, an admin)."""
from tests.api.conftest import fast_passwords, world  # noqa: F401
