"""Small Sphinx additions for the emd documentation.

* References to a field of a documented class (``:attr:`bound``` in
  :class:`emd.Certificate`'s docstring, ``:attr:`GridResult.flows```) link to the
  class's page, where its numpydoc ``Attributes`` section describes the field.  The
  result classes are frozen dataclasses whose fields have no docstrings of their
  own, so autodoc makes no target for them; only names listed in the class's
  ``Attributes`` section are resolved this way, so a misspelt field still fails
  the build under ``nitpicky``.
* numpydoc's built-in type aliases point into other projects' inventories
  (``python:float``, ``numpy:array_like``), which this offline build does not fetch;
  they are dropped, so only the aliases of ``conf.py`` (emd's own classes) link.
* ``.. cli-epilog::`` shows the epilog of ``emd-compute --help`` (examples, inputs,
  outputs) as the tool prints it, from the parser itself.
"""

from __future__ import annotations

import functools
import importlib

from docutils import nodes
from docutils.parsers.rst import Directive
from numpydoc.docscrape import ClassDoc
from numpydoc.xref import DEFAULT_LINKS
from sphinx.util.nodes import make_refnode


@functools.cache
def _documented_fields(fullname: str) -> frozenset[str]:
    """The names in the ``Attributes`` section of the class ``fullname`` (empty if none)."""
    module_name, _, class_name = fullname.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        return frozenset()
    if not isinstance(cls, type):
        return frozenset()
    doc = ClassDoc(cls, config={"show_class_members": False})
    return frozenset(name.strip() for item in doc["Attributes"] for name in item.name.split(","))


def _resolve_field(app, env, node, contnode):
    if node.get("refdomain") != "py" or node.get("reftype") != "attr":
        return None
    owner, _, field = node["reftarget"].rpartition(".")
    module = node.get("py:module") or ""
    if owner:
        candidates = [owner, f"{module}.{owner}"]
    elif node.get("py:class"):
        candidates = [f"{module}.{node['py:class']}"]
    else:
        return None
    objects = env.get_domain("py").objects
    for fullname in candidates:
        entry = objects.get(fullname)
        if entry is not None and entry.objtype in ("class", "exception") and (
            field in _documented_fields(fullname)
        ):
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id,
                                contnode, f"{fullname}.{field}")
    return None


class CliEpilog(Directive):
    """The epilog of ``emd-compute --help``, as a literal block."""

    has_content = False

    def run(self):
        from emd.cli._parser import build_parser

        text = build_parser().epilog
        return [nodes.literal_block(text, text)]


def _drop_external_aliases(app, config):
    # Runs after numpydoc's own config-inited handler has merged its defaults in.
    complete = config.numpydoc_xref_aliases_complete
    for name, target in DEFAULT_LINKS.items():
        if complete.get(name) == target:
            del complete[name]


def setup(app):
    app.connect("config-inited", _drop_external_aliases, priority=900)
    app.connect("missing-reference", _resolve_field)
    app.add_directive("cli-epilog", CliEpilog)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
