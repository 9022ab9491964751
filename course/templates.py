"""HTML pages and tables from Jinja2 templates (course/*/templates/), every value escaped."""

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


@cache
def _environment(folder: Path) -> Environment:
    return Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html.j2"]),
                       undefined=StrictUndefined, keep_trailing_newline=False)


def render(folder: Path, name: str, **values) -> str:
    """The template `name` of `folder`, filled with `values`."""
    return _environment(folder).get_template(name).render(**values)
