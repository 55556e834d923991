"""mkdocs hook: adds the reference pages generated from the code (docs/reference_pages.py) to the
site at every build, so they are never out of date and never committed."""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).parent))

from reference_pages import pages


def on_files(files, config):
    for path, text in pages().items():
        files.append(File.generated(config, path, content=text))
    return files
