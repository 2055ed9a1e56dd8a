"""Every page against random query strings: the page's own setting keys (read from a default
run) and unknown ones, with hostile values.  Defaults plus warnings, never a traceback."""

import random

import pytest
from helpers import run_page

from ui import nav

PAGES = [p.path.split("/")[-1][:-3] for p in nav.available() if p.url_path]
JUNK = ["", "nan", "inf", "-inf", "1e400", "-1", "0", "99999999999", "abc", "1,2,3", ",,,", "%00", "'; DROP",
        "__import__('os')", "x" * 500, "ｘ", "1.5.2", "true", "[]", "{}", "\\", "é", "None"]


def _keys(name):
    at = run_page(name)
    assert not at.exception
    return sorted(k for k in at.session_state if not k.startswith("_"))


@pytest.mark.parametrize("name", PAGES)
def test_random_query_strings_give_defaults_and_warnings(name):
    keys = _keys(name)
    rng = random.Random(name)
    for _ in range(2):
        query = {k: rng.choice(JUNK) for k in rng.sample(keys, min(len(keys), 12))}
        query[f"unknown{rng.randint(0, 99)}"] = rng.choice(JUNK)
        at = run_page(name, **query)
        assert not at.exception, (query, at.exception)
