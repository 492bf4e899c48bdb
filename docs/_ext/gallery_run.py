"""Run the scripts of ``examples/`` for the gallery and show the figures they write.

The examples are scripts with ``main(argv)`` that save their figures as PNG files
(``--out DIR``) and close them, so matplotlib's own scraper would find nothing open.
:func:`run_example` runs one into a fresh folder and queues what it wrote;
:func:`scrape_figures`, the gallery's image scraper, puts the queued files on the page.
The gallery's pages call the examples' code, never a copy of it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

_queued: list[Path] = []  # figures written since the last scrape, in order
_folders: list[Path] = []  # their temporary folders, removed once scraped


def run_example(name: str, *args: str) -> None:
    """Run ``examples/<name>.py`` with ``args`` and queue the figures it writes.

    Raises ``RuntimeError`` when the script fails or draws nothing, so that an
    example without its figure fails the documentation build.
    """
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = Path(tempfile.mkdtemp(prefix=f"emd-gallery-{name}-"))
    _folders.append(out)
    # Run inside the folder with ``--out .``: the page then shows "figure: NAME.png",
    # not a temporary path.
    before = os.getcwd()
    os.chdir(out)
    try:
        status = module.main([*args, "--out", "."])
    finally:
        os.chdir(before)
    if status != 0:
        raise RuntimeError(f"examples/{name}.py exited with status {status}")
    figures = sorted(out.glob("*.png"))
    if not figures:
        raise RuntimeError(f"examples/{name}.py wrote no figure (is matplotlib installed?)")
    _queued.extend(figures)


def scrape_figures(block, block_vars, gallery_conf) -> str:
    """Image scraper: copy the queued figures where the gallery expects them."""
    paths = []
    for figure, target in zip(_queued, block_vars["image_path_iterator"], strict=False):
        shutil.copyfile(figure, target)
        paths.append(target)
    _queued.clear()
    while _folders:
        shutil.rmtree(_folders.pop(), ignore_errors=True)
    return figure_rst(paths, gallery_conf["src_dir"]) if paths else ""
