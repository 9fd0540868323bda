"""French ships complete: every committed catalogue is fully translated, compiled, and up to date.

The second test regenerates the catalogues from a copy of the sources (so the
committed files are never touched) and checks that every string found there is
translated in the committed catalogue: adding an untranslated string fails it.
"""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LANGUAGE = "fr"
# Folders of the tree that hold no source of the project's own strings.
NOT_SOURCES = {"tests", "static", "staticfiles", "media", "locale", "node_modules", "docs"}
CATALOGUE = Path("locale") / LANGUAGE / "LC_MESSAGES" / "django.po"


def _committed_catalogues() -> list[Path]:
    """The project's French catalogues: the root one and each app's."""
    return sorted(path for path in [ROOT / CATALOGUE, *ROOT.glob(f"*/{CATALOGUE}"), *ROOT.glob(f"*/*/{CATALOGUE}")]
                  if path.is_file())


def _source_dirs() -> list[Path]:
    """Top-level packages of the project, and the project templates."""
    return sorted(
        path for path in ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in NOT_SOURCES
        and ((path / "__init__.py").is_file() or path.name == "templates")
    )


def _apps() -> list[str]:
    """Top-level packages other than the project package, and packages nested in them that have a
    locale/ folder (accounting): each keeps its own catalogue."""
    project = settings.ROOT_URLCONF.split(".")[0]
    top = [path.name for path in _source_dirs() if path.name not in (project, "templates")]
    nested = [f"{app}/{path.name}" for app in top for path in sorted((ROOT / app).iterdir())
              if (path / "__init__.py").is_file() and (path / "locale").is_dir()]
    return top + nested


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale=LANGUAGE)


def _key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _untranslated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return not all(strings)


def _require_gettext() -> None:
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.fail(
            "GNU gettext (xgettext, msgmerge) is missing, so the catalogues cannot be checked: "
            "install Debian's `gettext` package (`apt-get install gettext`; `make test` does it when run as root)."
        )


def test_there_are_french_catalogues_for_the_project_and_its_apps():
    catalogues = {path.relative_to(ROOT).parts[0] for path in _committed_catalogues()}
    assert {"locale", "members"} <= catalogues


@pytest.mark.parametrize("path", _committed_catalogues(), ids=lambda path: str(path.relative_to(ROOT)))
def test_committed_catalogue_is_complete_without_fuzzy_entries_and_compiled(path):
    catalog = _read(path)
    assert not catalog.fuzzy, f"{path}: the header is marked fuzzy (msgfmt would drop it)"
    fuzzy = [_key(m) for m in catalog if m.id and m.fuzzy]
    empty = [_key(m) for m in catalog if m.id and _untranslated(m)]
    assert not fuzzy, f"{path}: fuzzy entries: {fuzzy}"
    assert not empty, f"{path}: untranslated entries: {empty}"

    compiled = path.with_suffix(".mo")
    assert compiled.is_file(), f"{compiled} is missing: run compilemessages"
    with compiled.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    stale = [
        _key(m) for m in catalog
        if m.id and isinstance(m.id, str) and not m.context and translations.gettext(m.id) != m.string
    ]
    assert not stale, f"{compiled} is older than its .po file: run compilemessages ({stale[:5]})"


def _regenerate(copy: Path, apps: list[str]) -> None:
    """What `make messages` does: the project and templates into locale/, each app (nested ones apart) into its own."""
    env = {**os.environ, "DEBUG": "1", "PYTHONPATH": str(copy)}
    makemessages = [sys.executable, str(copy / "manage.py"), "makemessages", "-l", LANGUAGE, "--no-obsolete"]
    ignores = [f"--ignore={app}" for app in apps if "/" not in app]
    runs = [(copy, makemessages + ignores)] + [
        (copy / app, makemessages + [f"--ignore={nested.removeprefix(app + '/')}" for nested in apps
                                     if nested.startswith(app + "/")])
        for app in apps
    ]
    for cwd, command in runs:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"makemessages failed in {cwd}:\n{result.stdout}\n{result.stderr}"


def test_every_string_in_the_sources_is_translated_in_the_committed_catalogues(tmp_path):
    _require_gettext()
    committed = {path.relative_to(ROOT): path for path in _committed_catalogues()}
    snapshot = {path: path.read_bytes() for path in committed.values()}

    copy = tmp_path / "src"
    copy.mkdir()
    shutil.copy2(ROOT / "manage.py", copy / "manage.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.po", "*.mo", "tests")
    for source in _source_dirs():
        shutil.copytree(source, copy / source.name, ignore=ignore)
    apps = _apps()
    for relative in [*committed, *(Path(app) / CATALOGUE for app in apps), CATALOGUE]:
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)

    _regenerate(copy, apps)

    generated = sorted(copy.glob(f"**/{CATALOGUE}"))
    assert generated, "makemessages produced no catalogue"
    problems = []
    for path in generated:
        relative = path.relative_to(copy)
        if relative not in committed:
            problems.append(f"{relative}: strings found but no committed catalogue")
            continue
        reference = _read(committed[relative])
        for message in _read(path):
            if not message.id:
                continue
            translated = reference.get(message.id, message.context)
            if translated is None:
                problems.append(f"{relative}: not in the catalogue: {_key(message)!r}")
            elif translated.fuzzy or _untranslated(translated):
                problems.append(f"{relative}: not translated: {_key(message)!r}")
    assert not problems, "Run `make messages`, translate, compile and commit:\n" + "\n".join(problems)
    assert {path: path.read_bytes() for path in committed.values()} == snapshot, "the committed catalogues changed"
