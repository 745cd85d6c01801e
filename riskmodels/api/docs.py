"""The API documentation page: Swagger UI from the sidecar package, under the site's CSP.

drf-spectacular's split view already loads its start-up script as a file; its page template
also has an inline <style>, which style-src 'self' blocks, so this page uses a copy without it
(templates/api/swagger_ui.html). No CSP exception is needed.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication


class DocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "Counterweight API"
    # A page for browsers: the session alone, so that accounts.middleware always asks for the
    # session's two-factor step here, bearer header or not.
    authentication_classes = [SessionAuthentication]
