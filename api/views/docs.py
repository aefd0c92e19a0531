"""The browsable API reference: Swagger UI from static/ and its start script from our own
origin, so the strict CSP (no inline script or style, no other origin) holds."""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
    title = "Accord API"
