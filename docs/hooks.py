"""MkDocs hooks: the pages generated as the site builds, so none can drift from its source.

- reference/config.md: every config key, from the settings classes
  (evofool.api.config_reference);
- results.md: BENCHMARKS.md, the measurements, with its figures' paths made relative.
"""

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).parents[1]


def on_files(files, config):
    from evofool.api.config_reference import markdown

    results = (ROOT / "BENCHMARKS.md").read_text().replace("](docs/", "](")
    for path, content in (("reference/config.md", markdown()), ("results.md", results)):
        files.append(File.generated(config, path, content=content))
    return files
