"""Compare two report pages (index.html) as a reader sees them, not byte by byte.

    python scripts/compare_pages.py OLD.html NEW.html [--structure]

Visible text: the text of the page split where a block element (paragraph, cell, heading, list
item, SVG text, ...) begins or ends, whitespace collapsed inside each block, empty blocks dropped
— so re-indenting a template changes nothing, but a lost space between two words, or between a
number and its unit, does. ``<style>`` is left out. With ``--structure``: also the sequence of
elements with their attributes (an empty ``class`` dropped, PNG data URIs replaced by a hash of
their decoded pixels, so a different PNG encoder of the same image compares equal) and the style
sheet, line by line. Prints a unified diff of what differs; exit status 0 when the pages are the same.

Use it when changing how the page is made (templates, context functions) while meaning to change
nothing visible: render the same inputs before and after and compare.
"""
from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import io
import re
import sys
from html.parser import HTMLParser

import numpy as np
from PIL import Image

#: Elements whose beginning and end separate text (everything else is inline).
BLOCK = set("html head body header main footer nav section article div p h1 h2 h3 h4 h5 h6 ul ol li table "
            "thead tbody tr td th caption figure figcaption details summary dl dt dd br hr svg text title desc "
            "g img meta".split())


def _png_pixels(uri: str) -> str:
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    return f"png {image.shape} {hashlib.sha1(image.tobytes()).hexdigest()[:16]}"


class PageParser(HTMLParser):
    """Collects the visible text blocks, the element sequence and the style sheet of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self.elements, self.style = [], [], ""
        self._text, self._raw = [], 0

    def _end_block(self):
        text = re.sub(r"\s+", " ", "".join(self._text)).strip()
        if text:
            self.blocks.append(text)
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if attrs.get("class") == "":
            del attrs["class"]
        if tag == "img" and attrs.get("src", "").startswith("data:image/png"):
            attrs["src"] = _png_pixels(attrs["src"])
        self.elements.append(f"<{tag} {sorted(attrs.items())}>")
        self._raw += tag in ("style", "script")
        if tag in BLOCK:
            self._end_block()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        self.elements.append(f"</{tag}>")
        self._raw -= tag in ("style", "script")
        if tag in BLOCK:
            self._end_block()

    def handle_data(self, data):
        if self._raw:
            self.style += data
        else:
            self._text.append(data)


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    parser._end_block()
    return parser


def visible_text(html: str) -> list[str]:
    """The page's visible text, one string per block."""
    return parse(html).blocks


def _style_lines(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)          # comments are not style
    return [line.strip() for line in css.strip().splitlines() if line.strip()]


def differences(old: str, new: str, structure: bool = False) -> dict[str, list[str]]:
    """{what: unified diff lines} for each aspect that differs (empty when the pages are the same)."""
    a, b = parse(old), parse(new)
    aspects = {"visible text": (a.blocks, b.blocks)}
    if structure:
        aspects["elements"] = (a.elements, b.elements)
        aspects["style"] = (_style_lines(a.style), _style_lines(b.style))
    out = {}
    for name, (x, y) in aspects.items():
        diff = list(difflib.unified_diff(x, y, "old", "new", lineterm="", n=1))
        if diff:
            out[name] = diff
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--structure", action="store_true", help="also compare elements, attributes and the style")
    ap.add_argument("--lines", type=int, default=60, help="diff lines shown per aspect (default 60)")
    args = ap.parse_args(argv)
    old, new = (open(p, encoding="utf-8").read() for p in (args.old, args.new))
    diffs = differences(old, new, args.structure)
    print(f"visible text: {len(visible_text(old))} blocks in {args.old}, {len(visible_text(new))} in {args.new}")
    for name, lines in diffs.items():
        print(f"{name} differs ({sum(1 for x in lines if x[:1] in '+-') - 2} lines):")
        for line in lines[:args.lines]:
            print("  " + line[:400])
    print("the same" if not diffs else "different: " + ", ".join(diffs))
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
