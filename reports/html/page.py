"""The report as one self-contained HTML page, rendered from Jinja2 templates.

:data:`SECTIONS` is the page's table of contents, declared once: each :class:`Section` names its
anchor, its navigation label, its heading and its *context function*. :func:`render_html` asks
each context function, in order, for the values of its section (``None`` leaves the section out,
e.g. training when none ran), renders ``templates/sections/<id>.html`` with them, numbers the
sections that are present and builds the navigation from them, and puts everything into
``templates/base.html`` with ``style.css`` inlined.

The Jinja2 environment escapes every value (autoescape on). The only values that reach the page
as markup are built by Python code that escapes its own inputs and marks its result
:class:`markupsafe.Markup`: the SVG charts (:mod:`reports.html.charts`), numbers with a raised
exponent or a note (:mod:`reports.html.format`), and the style sheet. The page requests nothing
from anywhere (no fonts, scripts, styles or images from outside — it holds no URL at all, apart
from links to the CSV files beside it).

Adding a section: write its template ``templates/sections/<id>.html`` (extending
``section.html``) and its context function ``<id>_context(inputs) -> dict | None`` (in a module of
:mod:`reports.html.sections`), and add one :class:`Section` line below. docs/ARCHITECTURE.md says more.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import jinja2
from markupsafe import Markup

from .format import fmt_headroom, sci
from .sections import about, bugzoo, compare, comparisons, configurations, corpus, findings, speed, training

__all__ = ["Section", "SECTIONS", "DIFF_SECTIONS", "section", "render_html", "render_diff_html", "render_section",
           "render_standalone", "environment", "sci", "fmt_headroom"]


@dataclass
class Section:
    """One section of the page.

    ``id``: its anchor and the name of its template, ``templates/sections/<id>.html``;
    ``nav``: its label in the navigation bar; ``title``: its heading; ``context``: a function of
    the report's inputs (:class:`reports.report.ReportInputs`) returning the template's variables
    as a dict, or None when the section has nothing to show.
    """

    id: str
    nav: str
    title: str
    context: Callable[[object], dict | None]
    folder: str = "sections"        # the templates' folder: "sections" (the report), "diff" (diff.html)

    @property
    def template(self) -> str:
        return f"{self.folder}/{self.id}.html"


#: The page's sections, in order. Numbers and navigation follow from this list.
SECTIONS = [
    Section("verdict", "Verdict", "Verdict", comparisons.verdict_context),
    Section("compared", "Compared", "Compared with an earlier report", compare.compared_context),
    Section("layers", "Layers", "Layers: forward and gradient errors", comparisons.layers_context),
    Section("nets", "Networks", "Networks: where errors grow, layer by layer", comparisons.nets_context),
    Section("configurations", "Configurations", "Configurations: compile, channels_last, autocast, GPU, …",
            configurations.configurations_context),
    Section("opinfo", "OpInfo", "PyTorch's own test samples (OpInfo) through the reference", corpus.opinfo_context),
    Section("training", "Training", "Training curves", training.training_context),
    Section("accuracy", "Accuracy", "Accuracy per epoch", training.accuracy_context),
    Section("filters", "Filters", "First-layer filters", training.filters_context),
    Section("speed", "Speed", "Speed: the NumPy reference against PyTorch", speed.speed_context),
    Section("catalog", "Book vs PyTorch", "The book and PyTorch: differences in convention", about.catalog_context),
    Section("bugzoo", "Bug zoo", "The bug zoo: planted bugs and the comparison that catches each", bugzoo.bugzoo_context),
    Section("findings", "Findings", "Findings: real disagreements with PyTorch, and the fuzzer's last run",
            findings.findings_context),
    Section("im2col", "im2col", "How im2col turns a convolution into one matrix product", about.im2col_context),
    Section("environment", "Environment", "Environment", about.environment_context),
]


#: The sections of ``diff.html`` (``cnn-parity diff A B --out DIR``), read from a ``reports.diff.DiffResult``.
DIFF_SECTIONS = [
    Section("summary", "Summary", "What moved", compare.diff_summary_context, "diff"),
    Section("environments", "Environments", "The two environments", compare.diff_environment_context, "diff"),
    Section("moved", "Moved", "Comparisons that moved or changed their verdict", compare.diff_moved_context, "diff"),
    Section("only", "One side only", "Comparisons in one report only", compare.diff_only_context, "diff"),
]


def section(section_id: str) -> Section:
    """The registered section with this id."""
    for s in SECTIONS:
        if s.id == section_id:
            return s
    raise KeyError(f"no section {section_id!r}; the sections are {', '.join(s.id for s in SECTIONS)}")


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """The templates' environment: package data of reports.html, autoescaped, strict about undefined names."""
    return jinja2.Environment(loader=jinja2.PackageLoader("reports.html", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@functools.lru_cache(maxsize=None)
def _style() -> Markup:
    css = resources.files("reports.html").joinpath("style.css").read_text(encoding="utf-8")
    if "</" in css:
        raise ValueError("style.css must not contain '</' (it is inlined into a <style> element)")
    return Markup(css.strip())


def render_section(s: Section | str, inputs, number: int = 1) -> Markup:
    """The HTML of one section, numbered ``number`` ("" when it has nothing to show)."""
    s = section(s) if isinstance(s, str) else s
    context = s.context(inputs)
    if context is None:
        return Markup("")
    return Markup(environment().get_template(s.template).render(section=s, number=number, **context).strip())


def _present(registry, inputs) -> list[dict]:
    """The sections of ``registry`` that have something to show, rendered and numbered."""
    present = []
    for s in registry:
        html = render_section(s, inputs, len(present) + 1)
        if html:
            present.append({"id": s.id, "nav": s.nav, "html": html})
    return present


def render_diff_html(result) -> str:
    """``diff.html``: the sections of :data:`DIFF_SECTIONS` for a ``reports.diff.DiffResult``."""
    return environment().get_template("diff/page.html").render(
        css=_style(), sections=_present(DIFF_SECTIONS, result), a=str(result.a.path),
        b=str(result.b.path)) + "\n"


def render_html(inputs, files=()) -> str:
    """The whole page. Sections without data (e.g. training when none ran) are left out."""
    present = _present(SECTIONS, inputs)    # read at each call, so a changed registry (or a patched entry) is used
    env = dict(inputs.environment)
    commit = env.get("git commit", "unknown")
    return environment().get_template("base.html").render(
        css=_style(), sections=present, source=inputs.source, date=env.get("date (UTC)", ""),
        torch=env.get("torch", ""), numpy=env.get("numpy", ""),
        commit=commit[:10] if commit and commit != "unknown" else "",
        files=[name for name in files if name != "index.html"]) + "\n"


def render_standalone(parts, template: str, **values) -> str:
    """A page of its own, not the report (``cnn-parity explain --html``): ``parts`` are
    (Section, template name, context dict) in order, numbered 1, 2, …; ``template`` lays out the
    page (it extends ``base.html``), with ``values`` (its title, heading, ...)."""
    present = []
    for number, (s, name, context) in enumerate(parts, 1):
        html = environment().get_template(name).render(section=s, number=number, **context).strip()
        present.append({"id": s.id, "nav": s.nav, "html": Markup(html)})
    return environment().get_template(template).render(css=_style(), sections=present, **values) + "\n"
