"""Notebook setup: a plotly renderer that survives papermill and nbconvert, and matplotlib defaults."""
from __future__ import annotations

import os

RENDERER = "plotly_mimetype+posekit_html"


def _html_renderer_class():
    from plotly.io import to_html
    from plotly.io.base_renderers import NotebookRenderer

    class PosekitHtmlRenderer(NotebookRenderer):
        """plotly's offline 'notebook' renderer without any CDN reference (no MathJax, no require.js paths).

        `activate()` embeds plotly.js once in the cell that calls `setup_notebook()`; every figure then carries a
        small text/html part that draws it with that copy, so exported HTML works without a kernel or network.
        """

        embedded = False

        def activate(self):
            if not PosekitHtmlRenderer.embedded:
                PosekitHtmlRenderer.embedded = True
                super().activate()

        def to_mimebundle(self, fig_dict):
            html = to_html(fig_dict, config=self.config, auto_play=False, include_plotlyjs=False,
                           include_mathjax=False, full_html=False, default_width="100%", default_height=525,
                           validate=False)
            return {"text/html": html}

    return PosekitHtmlRenderer


def setup_notebook(renderer: str | None = None, matplotlib_defaults: bool = True) -> None:
    """Make figures render everywhere a notebook is read; call once, near the top of a notebook.

    Sets plotly's default renderer to `renderer`, else $POSEKIT_PLOTLY_RENDERER, else
    'plotly_mimetype+posekit_html': the plotly mimetype bundle (JupyterLab 4, VS Code) plus an HTML fallback
    drawn with a copy of plotly.js that this call embeds in its own cell output (for `jupyter nbconvert --to
    html` and other kernel-less viewers; nothing is loaded from a CDN). Also sets matplotlib defaults for
    notebooks (size, grid, PNG output). The renderer in use is `plotly.io.renderers.default` afterwards.
    """
    import plotly.io as pio

    if "posekit_html" not in pio.renderers:
        pio.renderers["posekit_html"] = _html_renderer_class()()
    renderer = renderer or os.environ.get("POSEKIT_PLOTLY_RENDERER") or RENDERER
    pio.renderers.default = renderer
    if "posekit_html" in renderer.split("+"):
        html = pio.renderers["posekit_html"]
        type(html).embedded = False  # embed again: this cell's output may be all an exported notebook has
        try:
            from IPython import get_ipython
            if get_ipython() is not None:
                html.activate()
        except ImportError:  # pragma: no cover - IPython comes with every Jupyter install
            pass
    if matplotlib_defaults:
        _matplotlib_defaults()


def _matplotlib_defaults() -> None:
    import matplotlib
    matplotlib.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
        "font.size": 9, "axes.titlesize": 10, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
    })
    try:
        from IPython import get_ipython
        if get_ipython() is not None:
            import matplotlib.pyplot  # noqa: F401 - activates the inline backend and its figure formatter
            from matplotlib_inline.backend_inline import set_matplotlib_formats
            set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside Jupyter
        pass
