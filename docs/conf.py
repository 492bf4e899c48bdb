"""Sphinx configuration of the emd documentation.

Build (offline: nothing is fetched at build time)::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))  # our small extension, the gallery's runner

import emd  # noqa: E402  (after the path set-up above)

project = "emd"
author = "The emd developers"
copyright = "The emd developers"
release = emd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # the changelog page includes CHANGELOG.md as it is
    "emd_docs",  # docs/_ext: field references, the CLI epilog
]

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "gallery/GALLERY_HEADER.rst", "architecture.md"]
templates_path = ["_templates"]

# Every internal reference must resolve; -W turns a broken one into a failed build.
nitpicky = True
# The site fetches no other project's inventory (no network at build time), so names of
# the standard library, NumPy, SciPy and the optional libraries are left unlinked.
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|matplotlib|dask|distributed|networkx|zarr|ot|tqdm|PIL)(\..*)?"),
    (r"py:.*", r"(os|pathlib|argparse|collections|typing|io|concurrent)\..*"),
    (r"py:.*", r"(ArrayLike|NDArray|numpy\.typing\..*)"),
]

# numpydoc renders the docstrings; autosummary writes one page per public name.
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the signatures and the Parameters sections say it once
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Link the result and error types named in Parameters/Returns sections; other words of a
# type description ("array_like", "optional", "int") stay plain text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    name: f"{module}.{name}"
    for module, names in {
        "emd": ["Certificate", "FlowResult", "GraphResult", "GridResult", "NeighborsResult",
                "OneDimResult", "SolverWarning", "TransportResult", "TreeResult"],
        "emd.dual": ["CriticAudit", "DualCertificate", "HeldoutEstimate", "PermutationTest",
                     "PluginEstimate", "ProjectionWitness", "SlicedEstimate", "TrainedCritic",
                     "W1Bracket", "WideBracketWarning", "Witness"],
        "emd.io": ["Histogram", "HistogramFileError"],
        "emd.compat.pot": ["POTCompatError"],
    }.items()
    for name in names
}

# The gallery: thin scripts in docs/gallery run the examples of examples/ (their own
# sizes: each takes 1-5 s) and show the figures those scripts write.
sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_gallery",
    "filename_pattern": r"/plot_",
    "image_scrapers": ("gallery_run.scrape_figures",),
    "reset_modules": (),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_signature": False,
    "min_reported_time": 10,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
}

# "gap", "optimal()" in a class page's table of contents, not "Certificate.gap".
toc_object_entries_show_parents = "hide"

html_theme = "pydata_sphinx_theme"
html_title = f"emd {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    # The gallery's pages need the width for their figures more than a table of contents.
    "secondary_sidebar_items": {
        "index": ["page-toc"], "changelog": ["page-toc"], "guide/*": ["page-toc"],
        "api/**": ["page-toc"], "auto_gallery/*": [],
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False
# The changelog is one page: no section navigation to show beside it.
html_sidebars = {"changelog": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_context = {"default_mode": "light"}
