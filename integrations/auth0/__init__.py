"""Auth0: access-token validation for the API and OIDC login for the dashboard.

``jwks`` fetches and caches the signing keys, ``tokens`` validates JWTs (a thin wrapper
around python-jose, so the library can be swapped), ``authentication`` is the DRF class,
``views``/``urls`` run the dashboard login.
"""
