"""The repository documents itself: every doc a file cites exists, with the section it cites; nothing cites the
team's shared docs (which are not in the repository); no absolute path of one machine appears anywhere.

Scope: the text files of the repository's packages, tests, bench, docs, scripts, CI and root files. Not
``tests/fixtures/`` (third-party files copied verbatim, see tests/fixtures/README.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".sh", ".cfg", ".ini", ".txt", ".sql", ".html", ".j2",
                 ".json", ".csv"}
ROOT_DIRS = {"tests", "bench", "docs", "scripts", ".ci"}
SKIP_DIRS = {"__pycache__", ".venv", ".git", ".pytest_cache", ".hypothesis", "node_modules"}
SKIP_UNDER = (ROOT / "tests" / "fixtures",)

# Files the lead is rewriting in restructure phase 2 (issue 13): their citations of the shared docs become docs/...
# citations there. Remove each entry once phase 2 has landed; the list must then be empty.
SHARED_DOC_CITATIONS_ALLOWED: set[str] = set()  # keep empty: every file cites the repository's docs

# A path of one machine: a user's home, the shared work area, the temp dir, ... Paths of the operating system's
# own layout are not machine paths and are allowed where a file must name them: /usr/bin/chromium (Debian's
# browser for the browser test), /usr/lib/postgresql (the server build the restart test drives), /etc/postgresql
# (CI starts the cluster), /etc/systemd, /etc/vntrack, /srv/vntrack (the documented production install).
MACHINE_PATH = re.compile(r"(?<![\w.~$-])/(?:work|home|tmp|Users|root|mnt|media|scratch)/")
MACHINE_PATH_ALLOWED: dict[str, str] = {}  # repo path -> reason; keep empty unless a file truly needs one

SHARED_DOC = re.compile(r"(?<![\w/.-])(?:design|stack-notes|style)\.md|shared/docs|shared/data")
BARE_SSI_WIRE = re.compile(r"(?<![\w/.-])ssi-wire\.md")

# A citation: ``docs/NAME.md`` (or a Markdown link ``](NAME.md)`` inside docs/), then optional sections
# ``§3``, ``§1.2``, ``§3-§5``, ``§1.1-1.2``, ``§3 (the lake), §4``...
SECTION = r"§\d+(?:\.\d+)*"
SECTIONS = rf"(?:\s*{SECTION}(?:\s*-\s*§?\d+(?:\.\d+)*)?(?:\s*\([^()\n]*\))?(?:\s*(?:,|and)\s*(?={SECTION}))?)*"
CITATION = re.compile(rf"(?:docs/|(?P<link>\]\())(?P<doc>[A-Za-z0-9_-]+)\.md[\])]?(?P<sections>{SECTIONS})")
NUMBER = re.compile(r"§?(\d+(?:\.\d+)*)(?:\s*-\s*§?(\d+(?:\.\d+)*))?")
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def _text_files() -> list[Path]:
    packages = {p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    dirs = sorted(packages | {ROOT / d for d in ROOT_DIRS if (ROOT / d).is_dir()})
    files = [p for p in ROOT.iterdir() if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.name == "Makefile")]
    for directory in dirs:
        for path in directory.rglob("*"):
            if not path.is_file() or SKIP_DIRS & set(path.relative_to(ROOT).parts):
                continue
            if any(path.is_relative_to(skip) for skip in SKIP_UNDER):
                continue
            if path.suffix in TEXT_SUFFIXES or path.parent.name == ".ci":
                files.append(path)
    return sorted(files)


FILES = _text_files()
REL = {p: p.relative_to(ROOT).as_posix() for p in FILES}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _sections(doc: Path) -> set[str]:
    return set(HEADING.findall(_read(doc)))


def _cited_numbers(text: str) -> list[str]:
    """``§3 (x), §4-§6`` -> ["3", "4", "5", "6"]; ``§1.1-1.2`` -> ["1.1", "1.2"] (ranges of whole numbers are
    expanded, others give their two ends)."""
    out: list[str] = []
    for match in NUMBER.finditer(re.sub(r"\([^()\n]*\)", "", text)):
        first, last = match.group(1), match.group(2)
        if last and first.isdigit() and last.isdigit():
            out.extend(str(n) for n in range(int(first), int(last) + 1))
        else:
            out.extend(n for n in (first, last) if n)
    return out


def _citations() -> list[tuple[str, int, Path, list[str]]]:
    """(file, line, cited doc, cited section numbers) for every citation of a doc of docs/."""
    found = []
    for path in FILES:
        if REL[path] == "tests/test_docs.py":
            continue  # its own examples
        for number, line in enumerate(_read(path).splitlines(), start=1):
            for m in CITATION.finditer(line):
                if m["link"] and path.parent != DOCS:
                    continue  # a relative Markdown link outside docs/ points elsewhere
                found.append((REL[path], number, DOCS / f"{m['doc']}.md", _cited_numbers(m["sections"])))
    return found


CITATIONS = _citations()


def test_the_scan_sees_the_repository():
    names = set(REL.values())
    assert {"README.md", "docs/architecture.md", "transforms/parse.py", "tests/test_docs.py"} <= names
    assert not any(n.startswith("tests/fixtures/") for n in names)
    assert len(CITATIONS) > 50


@pytest.mark.parametrize("doc", ["architecture", "ssi-wire", "market", "operations", "analytics", "capture"])
def test_the_project_docs_exist_and_are_linked_from_the_readme(doc):
    assert (DOCS / f"{doc}.md").is_file()
    where = _read(ROOT / "README.md").split("## Where things live", 1)[1].split("\n## ", 1)[0]
    assert f"(docs/{doc}.md)" in where, f"README's 'Where things live' does not link docs/{doc}.md"


def test_every_cited_doc_exists():
    missing = sorted({f"{file}:{line}: docs/{doc.name}" for file, line, doc, _ in CITATIONS if not doc.is_file()})
    assert not missing, "citations of docs that do not exist:\n" + "\n".join(missing)


def test_every_cited_section_exists_as_a_heading():
    bad = []
    for file, line, doc, numbers in CITATIONS:
        if not doc.is_file():
            continue
        have = _sections(doc)
        bad.extend(f"{file}:{line}: docs/{doc.name} §{n}" for n in numbers if n not in have)
    assert not bad, "citations of sections that are not headings of the cited doc:\n" + "\n".join(bad)


def test_section_parsing():
    """The citation grammar itself (so the two tests above cannot pass by reading nothing)."""
    line = "References: docs/architecture.md §3 (raw frames), §4-§5; docs/ssi-wire.md §1.1-1.2, §2.4; docs/x.md."
    got = [(doc.name, numbers) for doc, numbers in
           ((DOCS / f"{m['doc']}.md", _cited_numbers(m["sections"])) for m in CITATION.finditer(line))]
    assert got == [("architecture.md", ["3", "4", "5"]), ("ssi-wire.md", ["1.1", "1.2", "2.4"]), ("x.md", [])]
    assert "2.3" in _sections(DOCS / "ssi-wire.md") and "8" in _sections(DOCS / "architecture.md")


def test_nothing_cites_the_shared_team_docs():
    bad = []
    for path in FILES:
        rel = REL[path]
        if rel in SHARED_DOC_CITATIONS_ALLOWED or rel == "tests/test_docs.py":
            continue
        for number, line in enumerate(_read(path).splitlines(), start=1):
            if SHARED_DOC.search(line) or (path.parent != DOCS and BARE_SSI_WIRE.search(line)):
                bad.append(f"{rel}:{number}: {line.strip()[:100]}")
    assert not bad, ("cite the repository's docs (docs/architecture.md, docs/ssi-wire.md, docs/market.md, "
                     "docs/analytics.md, docs/operations.md, docs/capture.md), not the team's shared ones:\n"
                     + "\n".join(bad))


def test_the_allow_list_names_only_files_that_exist():
    assert all((ROOT / rel).is_file() for rel in SHARED_DOC_CITATIONS_ALLOWED | set(MACHINE_PATH_ALLOWED))


def test_no_absolute_path_of_a_machine():
    bad = []
    for path in FILES:
        rel = REL[path]
        if rel in MACHINE_PATH_ALLOWED or rel == "tests/test_docs.py":
            continue
        for number, line in enumerate(_read(path).splitlines(), start=1):
            if MACHINE_PATH.search(line):
                bad.append(f"{rel}:{number}: {line.strip()[:100]}")
    assert not bad, "absolute machine paths (use paths relative to the repository or tmp_path):\n" + "\n".join(bad)


def test_the_machine_path_pattern():
    assert MACHINE_PATH.search('REAL = Path("/work/shared/data/real/ssi")')
    assert MACHINE_PATH.search("see /home/alice/lake and /tmp/x")
    assert not MACHINE_PATH.search("/usr/bin/chromium, lake/tmp/x, ~/work/, http://h/home/, $TMP/x")
