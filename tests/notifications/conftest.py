from tests.deals.conftest import parties  # noqa: F401  (a buyer, suppliers, a need and its matches)
