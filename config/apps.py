from __future__ import annotations

from django.contrib.staticfiles.apps import StaticFilesConfig


class StaticFiles(StaticFilesConfig):
    """django.contrib.staticfiles, leaving out what plotly's package folder holds beside
    plotly.min.js (the Jupyter widget bundle, datasets and figure templates, about 5 MB that
    no page requests), so that collectstatic neither copies nor compresses them."""

    ignore_patterns = [
        *StaticFilesConfig.ignore_patterns,
        "widgetbundle.js",
        "datasets",
        "templates",
    ]
