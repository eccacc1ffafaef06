"""The staff status page in headless Chromium (issue #5 item 6): log in with a token, see each
open round's seats, ballots and valid ballots, and download a closed round's circular.

Chromium is Debian's ``/usr/bin/chromium``, driven over the DevTools Protocol by the small
stdlib client in ``tests/harness/browser.py``.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
from pathlib import Path

from tests.harness.browser import Browser
from tests.harness.deliveries import ballot
from tests.harness.processes import wait_for


def _js(value: object) -> str:
    return json.dumps(value)


def test_status_page_shows_progress_and_downloads_the_circular_in_chromium(
    service, chromium: str, tmp_path: Path
) -> None:
    october = service.setup_round("2026-10", seats=10, pool=20)
    november = service.setup_round("2026-11", seats=8, pool=20)
    oct_secret = service.add_source("oct", "2026-10")
    nov_secret = service.add_source("nov", "2026-11")
    web = service.start_web(workers=1)
    for i, token in enumerate(october):
        assert web.deliver("oct", oct_secret, ballot(f"o{i}", token)).status_code == 202
    at = "2026-11-10T10:00:00+08:00"
    for i, token in enumerate(november[:4]):  # four full ballots ...
        assert web.deliver("nov", nov_secret, ballot(f"n{i}", token, at)).status_code == 202
    # ... one that votes on too few units (invalid), one from a token that is no seat (rejected).
    assert (
        web.deliver("nov", nov_secret, ballot("n4", november[4], at, U1="满意")).status_code == 202
    )
    assert web.deliver("nov", nov_secret, ballot("n5", "no-such-seat", at)).status_code == 202
    service.burst_worker()
    admin, viewer = service.token("admin"), service.token("viewer")
    assert web.post("/api/v1/rounds/2026-10/close", token=admin).status_code == 202
    service.burst_worker()
    # A platform's error text is shown escaped, never as markup.
    with service.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text("update sources set last_error = :e where name = 'nov'"),
            {"e": '<img id="evil" src="x">HTTP 503'},
        )

    browser = Browser(service, chromium)
    try:
        browser.navigate(web.url("/"))
        assert browser.evaluate("!!document.querySelector('input[name=token]')")
        # A wrong token is refused on the page.
        browser.evaluate(
            "document.querySelector('input[name=token]').value = 'pyt_wrong';"
            "document.querySelector('form').submit()"
        )
        wait_for(
            lambda: "令牌无效" in browser.evaluate("document.body ? document.body.innerText : ''"),
            15,
            what="the refusal",
        )
        browser.evaluate(
            f"document.querySelector('input[name=token]').value = {_js(viewer)};"
            "document.querySelector('form').submit()"
        )
        wait_for(
            lambda: browser.evaluate("!!document.querySelector('#rounds')"), 15, what="status page"
        )
        browser.wait_loaded(web.url("/"))
        assert browser.evaluate("document.cookie") == ""  # the token cookie is HttpOnly

        cells = browser.evaluate(
            """(() => {
              const row = document.querySelector('#rounds tr[data-round="2026-11"]');
              const closed = document.querySelector('#closed tr[data-round="2026-10"]');
              const bar = (sel) => row.querySelector(sel + ' .bar span').style.width;
              return {
                seats: row.querySelector('.seats').innerText.trim(),
                ballots: row.querySelector('.ballots').innerText.trim(),
                valid: row.querySelector('.valid').innerText.trim(),
                ballotsBar: bar('.ballots'), validBar: bar('.valid'),
                openRounds: document.querySelectorAll('#rounds tbody tr').length,
                closed: closed ? closed.innerText : null,
                pdf: closed ? closed.querySelector('a.pdf').href : null,
                error: document.querySelector('#sources').innerText,
                evil: !!document.getElementById('evil'),
              };
            })()"""
        )
        assert (cells["seats"], cells["ballots"], cells["valid"]) == ("8", "5", "4"), cells
        bars = (float(cells["ballotsBar"].rstrip("%")), float(cells["validBar"].rstrip("%")))
        assert bars == (62.5, 50.0), cells
        assert cells["openRounds"] == 1
        assert "10 / 10" in cells["closed"] and "PDF v1" in cells["closed"]
        assert cells["pdf"] == web.url("/api/v1/rounds/2026-10/circular.pdf")
        assert '<img id="evil" src="x">HTTP 503' in cells["error"] and not cells["evil"]

        png = browser.screenshot()
        (tmp_path / "status.png").write_bytes(png)

        # The download link, followed by the browser with its own (cookie) credentials.
        download = browser.evaluate(
            """fetch(document.querySelector('#closed a.pdf').href).then(async (r) => {
                 const bytes = new Uint8Array(await r.arrayBuffer());
                 let bin = '';
                 for (let i = 0; i < bytes.length; i += 8192)
                   bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
                 return {status: r.status, type: r.headers.get('content-type'), b64: btoa(bin)};
               })"""
        )
    finally:
        browser.close()

    assert download["status"] == 200 and download["type"] == "application/pdf"
    pdf = base64.b64decode(download["b64"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (tmp_path / "circular.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "circular.pdf"), "-"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "单位1" in text
    assert pdf == web.get("/api/v1/rounds/2026-10/circular.pdf", token=viewer).content

    # The screenshot is a real page: a PNG of the window, with text and both bar colours.
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] >= 800 and image.size[1] >= 600
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    present = {c for _, c in colours}
    assert (0x2B, 0x6C, 0xB0) in present, "the ballots bar is not drawn"
    assert (0x2F, 0x85, 0x5A) in present, "the valid-ballots bar is not drawn"
    assert (0xCC, 0x00, 0x00) in present, "the red title rule is not drawn"


def test_status_page_shows_deadlines_in_local_time(service) -> None:
    from service.config import Config
    from service.web.app import create_app

    service.setup_round("2026-11", seats=2)
    app = create_app(Config(database_url=service.db_url, redis_url=service.redis_url))
    client = app.test_client()
    login = {"token": service.token("viewer")}
    assert (
        client.post("/login", data=login, headers={"Origin": "http://localhost"}).status_code == 302
    )
    page = client.get("/").get_data(as_text=True)
    app.extensions["pingyi"].engine.dispose()
    assert "2026-11-30T15:59" not in page
    assert "2026-11-30 23:59" in page
