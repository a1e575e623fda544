"""Request and response bodies of the JSON API, one module per area of the API.

``common`` holds what every area shares: pagination, the integer and text guards.
"""
