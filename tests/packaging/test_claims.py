"""What setup.cfg and the README claim about Django is what CI runs."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    return parser


def _series(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def _ci_django_series() -> set[tuple[int, int]]:
    """Django series a CI job pins (``'Django>=X.Y,<X.Z'`` in ``.ci/run``)."""
    script = (REPO / ".ci" / "run").read_text()
    return {_series(low) for low in re.findall(r"'Django>=([0-9.]+),<[0-9.]+'", script)}


def test_every_claimed_django_series_has_a_ci_job():
    """Each ``Framework :: Django :: X.Y`` classifier names a series CI runs."""
    classifiers = _setup_cfg()["metadata"]["classifiers"]
    claimed = {
        _series(version)
        for version in re.findall(r"Framework :: Django :: ([0-9.]+)", classifiers)
    }
    assert claimed
    assert claimed <= _ci_django_series()


def test_lowest_django_allowed_is_run_in_ci():
    """The lower bound of the Django requirement is the oldest series CI runs."""
    requires = _setup_cfg()["options"]["install_requires"]
    lowest = _series(re.search(r"Django>=([0-9.]+)", requires).group(1))
    assert lowest == min(_ci_django_series())


def test_readme_compatibility_names_the_ci_series():
    """The README's Django row names the oldest and newest series CI runs."""
    readme = (REPO / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| Django |"))
    for major, minor in (min(_ci_django_series()), max(_ci_django_series())):
        assert f"{major}.{minor}" in row
