"""The REST API of service requests (``/api/v1/…``; DESIGN.md "REST API"), by audience:
``customer`` for an organization's API keys and admins, ``desk`` for support agents;
``examples`` holds what their OpenAPI pages show, ``common`` what both share."""
