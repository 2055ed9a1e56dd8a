"""Every page of the app in headless Chromium: it draws its figures, shows no Streamlit
exception and logs no console error.  Screenshots go to artifacts/screenshots/, or to the
folder named by SCREENSHOTS (the README's pictures: SCREENSHOTS=docs/screenshots
python -m pytest tests/browser -k every_page)."""

import os
import shutil

import pytest

from lessons import PATH
from ui import nav

pytestmark = pytest.mark.browser

PAGES = nav.available()


@pytest.mark.parametrize("info", PAGES, ids=[p.url_path or "home" for p in PAGES])
def test_every_page(open_page, info):
    opened = open_page("/" + info.url_path, wait_plot=bool(info.url_path))
    page = opened.page
    assert page.query_selector('[data-testid="stException"]') is None
    assert page.query_selector('[data-testid="stAlert"] [data-testid="stAlertContentError"]') is None
    if info.url_path:
        assert len(page.query_selector_all(".js-plotly-plot")) >= 1
    else:  # the lesson path: one card per lesson whose page exists, each a link
        assert page.get_by_text("Open this lesson").count() == len(
            [lesson for lesson in PATH if lesson.page in {p.url_path for p in PAGES}])
    shot = opened.screenshot(info.url_path or "home")
    target = os.environ.get("SCREENSHOTS")
    if target:
        os.makedirs(target, exist_ok=True)
        shutil.copy(shot, os.path.join(target, shot.name))
    assert opened.real_errors() == []
