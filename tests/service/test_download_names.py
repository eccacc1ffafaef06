"""A circular's download name comes from its round id, which may be Chinese, and in a database
older than the id check may even hold a quote or CR LF: the Content-Disposition header carries
the exact name as UTF-8 (RFC 5987) and a plain ASCII one, and never the id raw."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

from service.config import Config
from service.web.api import attachment
from service.web.app import create_app

UNITS = "code,name,system\nA,A单位,法院\nB,B单位,公安局\n"


def test_a_chinese_round_id_downloads_under_its_own_name(cli, tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    cli("import", "units", str(units))
    round_id = "十月评议"
    cli("round", "create", round_id, "--opens", "2026-10-01", "--closes", "2026-10-31")
    cli("circular", round_id, "--force", "-o", str(tmp_path / "c.pdf"))
    token = cli("token", "create", "--role", "viewer").split()[0]
    app = create_app(Config(database_url=cli.db))
    try:
        got = app.test_client().get(
            f"/api/v1/rounds/{quote(round_id)}/circular.pdf",
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        app.extensions["pingyi"].engine.dispose()
    assert got.status_code == 200, got.get_data(as_text=True)
    header = got.headers["Content-Disposition"]
    header.encode("latin-1")  # a header value must be (it was 8-bit Chinese before)
    assert "filename*=UTF-8''" + quote(f"circular-{round_id}-v1.pdf", safe="") in header
    assert 'filename="circular-____-v1.pdf"' in header


def test_nothing_of_the_name_reaches_the_header_raw() -> None:
    for name in ('circular-a"b-v1.pdf', "circular-a\r\nSet-Cookie: x=1-v1.pdf", "通报.pdf"):
        header = attachment(name)
        assert "\r" not in header and "\n" not in header
        assert header.count('"') == 2  # the ASCII name's own quotes only
        header.encode("ascii")
        assert unquote(header.split("filename*=UTF-8''")[1]) == name
    assert attachment("circular-2026-10-v2.pdf") == (
        "attachment; filename=\"circular-2026-10-v2.pdf\"; filename*=UTF-8''circular-2026-10-v2.pdf"
    )
