"""Signing in as a test does it, written once (Flask's tutorial has the same `auth`
fixture): accounts made by the tests use PASSWORD."""

PASSWORD = "mat-khau-an-toan-1"


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign `client` in through the real form; returns the client, now signed in."""
    response = client.post("/tai-khoan/dang-nhap", data={"email": email, "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return client


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        return sign_in(self._client, email, password)

    def logout(self):
        return self._client.post("/tai-khoan/dang-xuat")
