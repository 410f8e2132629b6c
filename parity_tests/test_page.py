"""The page's template system: the section registry, autoescaping, package data, the PNG images.

The page's content is tested in ``test_report.py``; these tests are about the machinery that other
sections will be added to (see docs/ARCHITECTURE.md, "Adding a section to the page").
"""
from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import numpy as np
import pytest
from markupsafe import Markup
from PIL import Image

from reports import report as REPORT
from reports.html import charts, images, page
from reports.parity.records import Tolerance, compare

HTML_DIR = Path(page.__file__).resolve().parent
TEMPLATES = HTML_DIR / "templates"


def _inputs(case="Convolution"):
    tol = Tolerance(1e-12, "test")
    a = np.arange(6.0).reshape(2, 3)
    return REPORT.ReportInputs(records=[compare(case, "output", a, a + 1e-15, tol, config={"N": 1})], sweeps=[],
                               environment=[("date (UTC)", "2000-01-01 00:00:00")], catalog=[], im2col={})


class _Outline(HTMLParser):
    """Section ids with their numbers, and the navigation's links."""

    def __init__(self):
        super().__init__()
        self.sections, self.nav, self._badge, self._in_nav = [], [], False, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append([a["id"], None])
        elif tag == "nav":
            self._in_nav = True
        elif tag == "a" and self._in_nav:
            self.nav.append(a["href"])
        self._badge = a.get("class") == "num-badge"

    def handle_endtag(self, tag):
        self._in_nav = self._in_nav and tag != "nav"

    def handle_data(self, data):
        if self._badge:
            self.sections[-1][1] = int(data)
            self._badge = False


def _outline(html):
    p = _Outline()
    p.feed(html)
    return p.sections, p.nav


def test_every_registered_section_has_its_template_and_every_template_is_registered():
    ids = [s.id for s in page.SECTIONS]
    assert len(ids) == len(set(ids))
    on_disk = sorted(p.stem for p in (TEMPLATES / "sections").glob("*.html"))
    assert on_disk == sorted(ids)
    for s in page.SECTIONS:
        assert page.environment().get_template(s.template).name == f"sections/{s.id}.html"
    with pytest.raises(KeyError, match="no section 'nope'; the sections are verdict, compared, layers"):
        page.section("nope")


def test_autoescape_is_on_and_no_template_turns_it_off():
    env = page.environment()
    assert env.autoescape is True and env.undefined is jinja2.StrictUndefined
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("|safe", "| safe", "autoescape", "Markup", "http:", "https:"):
            assert forbidden not in text, f"{path.name} holds {forbidden!r}: markup comes from Python, escaped there"
    assert "</" not in (HTML_DIR / "style.css").read_text(encoding="utf-8")


def test_numbers_and_navigation_follow_the_registry_and_empty_sections_are_left_out(monkeypatch):
    sections, nav = _outline(page.render_html(_inputs()))
    assert sections == [["verdict", 1], ["layers", 2], ["environment", 3]]     # no training, speed, catalog, im2col
    assert nav == [f"#{sid}" for sid, _ in sections]
    # reorder the registry and leave one section out: the numbers and the navigation follow
    registry = [page.section("environment"), page.section("layers"), page.section("verdict")]
    monkeypatch.setattr(page, "SECTIONS", registry)
    monkeypatch.setattr(page.section("layers"), "context", lambda inputs: None)
    sections, nav = _outline(page.render_html(_inputs()))
    assert sections == [["environment", 1], ["verdict", 2]] and nav == ["#environment", "#verdict"]


def test_a_new_section_is_one_template_and_one_context_function(monkeypatch):
    """What docs/ARCHITECTURE.md tells a contributor to do, done here with an in-memory template."""
    template = ('{% extends "section.html" %}{% from "macros.html" import badge, value_table %}'
                '{% block intro %}<p>{{ intro }}</p>{% endblock %}'
                '{% block body %}{{ badge(ok, "fine") }}{{ value_table(["Name", "Value"], rows, numeric=(1,)) }}'
                '{% endblock %}')
    env = page.environment()
    patched = env.overlay(loader=jinja2.ChoiceLoader([jinja2.DictLoader({"sections/zoo.html": template}),
                                                       env.loader]))
    monkeypatch.setattr(page, "environment", lambda: patched)

    def zoo_context(inputs):
        return {"intro": f"{len(inputs.records)} records <b>", "ok": True, "rows": [["x<y", Markup("10<sup>2</sup>")]]}
    monkeypatch.setattr(page, "SECTIONS", page.SECTIONS[:1] + [page.Section("zoo", "Zoo", "Bug zoo", zoo_context)]
                        + page.SECTIONS[1:])
    html = page.render_html(_inputs())
    sections, nav = _outline(html)
    assert sections[:3] == [["verdict", 1], ["zoo", 2], ["layers", 3]] and nav[:3] == ["#verdict", "#zoo", "#layers"]
    zoo = html[html.index('<section id="zoo">'):html.index('<section id="layers">')]
    assert '<span class="num-badge">2</span>Bug zoo</h2>' in zoo
    assert "<p>1 records &lt;b&gt;</p>" in zoo and "<td>x&lt;y</td>" in zoo            # text escaped
    assert '<td class="num">10<sup>2</sup></td>' in zoo and "✓ fine" in zoo            # Markup kept


def test_section_text_and_chart_labels_are_escaped():
    evil = "<img src=x onerror=alert(1)>"
    html = page.render_html(_inputs(case=evil))
    assert "<img" not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") >= 3   # card, chart, table
    svg = charts.line_chart([charts.Series(evil, [0, 1], [1.0, 2.0])], title=evil, x_label=evil, y_label=evil)
    assert isinstance(svg, Markup) and "<img" not in svg and svg.count("&lt;img") >= 4


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (24, 130)])
def test_png_images_decode_to_the_same_pixels(shape):
    grey = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    uri = images.png_data_uri(grey)
    head, data = uri.split(",", 1)
    assert head == "data:image/png;base64" and re.fullmatch(r"[A-Za-z0-9+/=]+", data)
    img = Image.open(io.BytesIO(base64.b64decode(data)))
    assert img.format == "PNG" and img.mode == "L" and (np.asarray(img) == grey).all()
    with pytest.raises(ValueError, match="2-D grey image"):
        images.png_data_uri(np.zeros((2, 2, 3), dtype=np.uint8))
