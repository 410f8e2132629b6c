"""The README and docs/ stay true: the README fits its budget and indexes every doc, every
relative link lands on a file (and heading) inside the repository, the set-up commands are the
ones CI runs, and the output the README quotes is what the quoted cases still produce."""
from __future__ import annotations

import re
import shlex

import pytest

from reports.parity.cases import LAYER_CASES, NET_CASES
from reports.parity.harness import run_layer_case, run_net_case
from reports.parity.net_cases import NetCase

from .conftest import ROOT

README = ROOT / "README.md"
#: The issue's budget for the first screen: 12 KB.
README_MAX_BYTES = 12 * 1024
DOCS = sorted((ROOT / "docs").glob("*.md"))
#: Every Markdown file a reader reaches from the README.
PAGES = [README, *DOCS, ROOT / "benchmarks" / "results" / "README.md", *sorted((ROOT / "findings").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(path) -> str:
    """The file without its fenced code blocks (a link-like text in code is not a link)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def links(path) -> list[str]:
    return LINK.findall(_prose(path))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path) -> set[str]:
    return {slug(h) for h in HEADING.findall(_prose(path))}


def section(text: str, title: str) -> str:
    """The body of the README's '## title' section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_readme_fits_its_budget():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; the first screen gets {README_MAX_BYTES}: move detail to docs/"


def test_the_link_checker_sees_what_it_must():
    text = "[a](docs/x.md) [`b/`](b) [c [d]](e.md#f) `[g](h)`"
    assert LINK.findall(text) == ["docs/x.md", "b", "e.md#f", "h"]
    assert slug("How comparisons are judged") == "how-comparisons-are-judged"
    assert slug("The `bugs.csv` file: one row per bug") == "the-bugscsv-file-one-row-per-bug"


def link_problems(page, root=ROOT) -> list[str]:
    """What is wrong with each relative link of ``page``: outside ``root``, no such file, no such
    heading."""
    problems = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):             # http:, https:, mailto: — not a file
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if dest != root and root not in dest.parents:
            problems.append(f"{target}: leaves the repository")
        elif not dest.exists():
            problems.append(f"{target}: {dest.relative_to(root)} does not exist")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            problems.append(f"{target}: no heading with that anchor")
    return problems


def test_the_link_checker_finds_bad_links(tmp_path):
    root = tmp_path / "repo"
    page = root / "docs" / "a.md"
    page.parent.mkdir(parents=True)
    page.write_text("# Top\n[ok](a.md#top) [up](../docs) [gone](b.md) [out](../../x.md) [anchor](a.md#nope)"
                    " [web](https://example.org)\n```\n[code](c.md)\n```\n", encoding="utf-8")
    assert [p.split(":")[0] for p in link_problems(page, root)] == ["b.md", "../../x.md", "a.md#nope"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_lands_inside_the_repository(page):
    problems = link_problems(page)
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_readme_indexes_every_doc():
    docs_section = section(README.read_text(encoding="utf-8"), "Docs")
    listed = {(README.parent / target).resolve() for target in LINK.findall(docs_section)}
    missing = [d.name for d in DOCS if d.name != "README.md" and d.resolve() not in listed]
    assert not missing, f"README.md's Docs section lacks a line for {missing}"


def _commands(script: str) -> list[list[str]]:
    """The pip and pytest command lines of a shell script, without pip's --quiet."""
    return [[w for w in shlex.split(line) if w not in ("--quiet", "-q")]
            for line in map(str.strip, script.splitlines()) if line.startswith(("pip ", "pytest "))]


def test_the_setup_commands_are_what_ci_runs():
    setup = section(README.read_text(encoding="utf-8"), "Set-up")
    block = FENCE.search(setup).group(0).split("\n", 1)[1].rsplit("```", 1)[0]
    readme = _commands(block)
    assert [c[0] for c in readme] == ["pip", "pytest"], block
    ci = _commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    for command in readme:
        assert command in ci, f"README's set-up runs {' '.join(command)!r}, .ci/run does not"


def _quoted_output() -> list[str]:
    body = section(README.read_text(encoding="utf-8"), "The main job: the parity table")
    blocks = FENCE.findall(body)
    assert len(blocks) == 2, "the section shows the command, then its output"
    return blocks[1].split("\n")[1:-1]


QUOTED_ROW = re.compile(r"(?P<case>\S+)\s+(?P<dtype>float\d\d)\s+(?P<n>\d+) (?P<quantity>.{22}) +\S+ +(?P<tol>\S+)"
                        r" +\S+  (?P<verdict>PASS|FAIL \d+/\d+) +(?P<config>.+)$")
CASES = {case.id: case for case in (*LAYER_CASES, *NET_CASES)}


def _quoted_rows():
    """One param per quoted row of a case; a network's row (about half a second) in the slow tier."""
    rows = [m for m in map(QUOTED_ROW.match, _quoted_output()) if m]
    return [pytest.param(row, id=f"{row['case']}-{row['dtype']}",
                         marks=[pytest.mark.slow] if isinstance(CASES.get(f"{row['case']}[{row['config']}]"), NetCase) else [])
            for row in rows]


def test_the_quoted_output_has_five_lines_and_adds_up():
    lines = _quoted_output()
    assert len(lines) == 5 and _quoted_rows(), lines
    summary = re.fullmatch(r"(\d+) comparisons, (\d+) pass, (\d+) fail; worst headroom \S+ \(.+\)", lines[-1])
    assert summary and int(summary[1]) == int(summary[2]) + int(summary[3]), lines[-1]


@pytest.mark.parametrize("row", _quoted_rows())
def test_a_quoted_row_is_what_its_case_gives(row):
    """The quoted case still exists and still gives that many comparisons, that quantity among
    them with that tolerance, and that verdict. The errors and which quantity is the worst depend
    on the machine's kernels and are not checked."""
    case = CASES.get(f"{row['case']}[{row['config']}]")
    assert case is not None, f"README quotes a case that is no longer registered: {row.group(0)}"
    if isinstance(case, NetCase):
        records = [r for r in run_net_case(case, row["dtype"]) if r.group == "net"]
    else:
        records = run_layer_case(case, row["dtype"])
    assert len(records) == int(row["n"]), row.group(0)
    quoted = [r for r in records if r.quantity == row["quantity"].strip()]
    assert len(quoted) == 1 and f"{quoted[0].tol:.1e}" == row["tol"], row.group(0)
    assert row["verdict"] == "PASS" and all(r.passed for r in records), row.group(0)
