import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request):
    """Integration tests run on SQLite and on the PostgreSQL server the suite starts."""
    return request.param
