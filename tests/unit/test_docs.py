"""The docs cannot drift from the code without a test failing.

- README.md's settings table lists exactly the environment variables lake_assets reads (found in its code).
- Every relative link of README.md, CHANGELOG.md and docs/*.md reaches a file of the repo, and its #anchor a
  heading of that file (GitHub's slugs).
- Code and config cite the docs in one form, a file and optionally a heading: `docs/operations.md, "Backfills"`.
  Each cited file and heading exists, and no comment cites the old single README by section name.
"""

import ast
import re
from pathlib import Path

from lake_assets.settings import PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "CHANGELOG.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
CITING = sorted({
    *[PROJECT_ROOT / name for name in ("Makefile", "dagster.yaml", "workspace.yaml", "pyproject.toml")],
    *(p for folder in ("lake_assets", "tests", "benchmarks", "data", "deploy", "dbt_project/macros",
                       "dbt_project/models") for p in (PROJECT_ROOT / folder).rglob("*")
      if p.is_file() and (p.suffix in (".py", ".sql", ".yml", ".yaml", ".txt", ".toml", ".md")
                          or p.name.startswith("Dockerfile"))
      and "__pycache__" not in p.parts and p != Path(__file__).resolve()),
    *(PROJECT_ROOT / "dbt_project").glob("*.yml"),
})
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)
CITATION = re.compile(r'(?<![\w./-])(README\.md|CHANGELOG\.md|docs/[\w-]+\.md)(?:, "([^"]+)")?')


def environment_variables_read() -> set[str]:
    """Names given to env.get / os.environ.get / os.environ[...], dg.EnvVar and settings' _*_setting(env, NAME)."""
    names = set()
    for path in (PROJECT_ROOT / "lake_assets").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ"
                    and isinstance(node.slice, ast.Constant)):
                names.add(node.slice.value)
            if not isinstance(node, ast.Call):
                continue
            func, args = ast.unparse(node.func), node.args + [None, None]
            key = (args[0] if func in ("env.get", "os.environ.get", "dg.EnvVar")
                   else args[1] if re.fullmatch(r"_\w+_setting", func) else None)  # _int_setting(env, NAME, ...)
            if isinstance(key, ast.Constant):
                names.add(key.value)
    return names


def settings_table() -> set[str]:
    """The backquoted names in the first column of the first table under README.md's "Settings"."""
    section = (PROJECT_ROOT / "README.md").read_text().split("\n## Settings\n")[1].split("\n## ")[0]
    rows = section[section.index("\n|"):].split("\n\n")[0].strip().splitlines()[2:]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}


def without_code(markdown: str) -> str:
    return re.sub(r"`[^`\n]*`", "", FENCED.sub("", markdown))


def headings(path: Path) -> list[str]:
    return HEADING.findall(FENCED.sub("", path.read_text()))


def anchors(path: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    ids, seen = set(), {}
    for heading in headings(path):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        ids.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
    return ids


def test_the_settings_table_lists_every_variable_the_code_reads():
    code, table = environment_variables_read(), settings_table()
    assert "LAKEHOUSE_TARGET" in code and "SLACK_TOKEN" in code  # the scan finds what it should
    assert code == table, (f"read by lake_assets but not in README.md's Settings: {sorted(code - table)}; "
                           f"in the table but never read: {sorted(table - code)}")


def test_every_relative_link_of_the_docs_reaches_a_file_and_heading():
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", without_code(doc.read_text())):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.is_relative_to(PROJECT_ROOT) or not path.exists():
                broken.append(f"{doc.name}: {target} (no such file in the repo)")
            elif anchor and anchor not in anchors(path):
                broken.append(f"{doc.name}: {target} (no such heading in {path.name})")
    assert not broken, "\n".join(broken)


def test_every_citation_in_code_names_an_existing_file_and_heading():
    broken = []
    for path in CITING:
        text = path.read_text(errors="replace")
        where = path.relative_to(PROJECT_ROOT)
        broken += [f"{where}: cites the old README by section: {line.strip()}"
                   for line in text.splitlines() if re.search(r"\bREADME\b(?!\.md)", line)]
        for file, heading in CITATION.findall(text):
            if not (PROJECT_ROOT / file).is_file():
                broken.append(f"{where}: {file} does not exist")
            elif heading and heading not in headings(PROJECT_ROOT / file):
                broken.append(f'{where}: {file} has no heading "{heading}"')
    assert not broken, "\n".join(broken)
