"""Bad files and bad text: limits, broken and hostile spreadsheets, encodings, formula cells, HTML, SQL-ish search."""
import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from core import tables
from members.models import Member
from tests import factories

ROSTER_HEADERS = ["姓名", "手机号", "支部", "党小组", "角色", "入党日期"]


def _xlsx(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip_bomb():
    """A valid-looking XLSX whose sheet inflates from kilobytes to ~60 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<row>" + b"0" * (60 * 1024 * 1024) + b"</row>")
    return out.getvalue()


def _upload(client, url, headers, data, filename):
    return client.post(url, headers=headers, data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


UPLOADS = [
    ("roster", lambda org: f"/api/v1/branches/{org.branch_a.id}/roster"),
    ("questions", lambda org: f"/api/v1/branches/{org.branch_a.id}/questions/import"),
    ("plans", lambda org: "/api/v1/materials/import"),
]


@pytest.mark.parametrize("kind,url", UPLOADS, ids=[u[0] for u in UPLOADS])
def test_an_upload_over_the_size_limit_is_413_on_every_import(app, client, login, org, kind, url):
    """Each import endpoint refuses a file over MAX_CONTENT_LENGTH with 413 in the error shape."""
    big = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    response = _upload(client, url(org), login(org.secretary_a), big, "big.csv")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large" and response.get_json()["message"]


@pytest.mark.parametrize("kind,url", UPLOADS, ids=[u[0] for u in UPLOADS])
@pytest.mark.parametrize("data,filename,code", [
    (None, "bomb.xlsx", "file_too_large"),
    (b"PK\x03\x04" + b"\x00" * 200, "broken.xlsx", "file_corrupt"),
    (b"not a spreadsheet at all", "x.xlsx", "file_corrupt"),
    (b"\x00\x01\x02binary\x00", "x.csv", "file_corrupt"),
    (b"", "empty.csv", "file_empty"),
    (b"\xff\xfe\xfa\xfb\xfc", "x.csv", None),
], ids=["zip-bomb", "truncated-zip", "garbage-xlsx", "binary-csv", "empty", "undecodable"])
def test_hostile_files_are_clear_422s_and_write_nothing(ctx, client, login, org, kind, url, data, filename, code):
    """A zip bomb, a truncated XLSX, garbage and binary files answer 422 with a code, never 500, nothing written."""
    before = Member.query.count()
    response = _upload(client, url(org), login(org.secretary_a), _zip_bomb() if data is None else data, filename)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == code or (code is None and response.get_json()["code"].startswith("file_"))
    assert Member.query.count() == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_roster_csv_reads_the_same_in_utf8_with_and_without_bom_and_gbk(ctx, client, login, org, encoding):
    """Chinese names and headers survive each encoding a secretary's Excel may save."""
    text = ",".join(ROSTER_HEADERS) + "\n欧阳修远,13700000001,甲一支部,,党员,2018-07-01\n"
    response = _upload(client, f"/api/v1/branches/{org.branch_a.id}/roster", login(org.secretary_a),
                       text.encode(encoding), "名册.csv")
    assert response.status_code == 200, response.get_json()
    assert Member.query.filter_by(phone="13700000001").one().name == "欧阳修远"


def test_a_roster_xlsx_with_formula_text_is_stored_as_text(ctx, client, login, org):
    """A cell typed as a formula is read as its text; it never runs on import."""
    data = _xlsx([ROSTER_HEADERS, ["=1+1", "13700000002", "甲一支部", "", "党员", ""]])
    response = _upload(client, f"/api/v1/branches/{org.branch_a.id}/roster", login(org.secretary_a), data, "r.xlsx")
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert Member.query.filter_by(phone="13700000002").one().name in ("=1+1", "2")


@pytest.mark.parametrize("value,expected", [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"),
    ("\t=1", "'\t=1"), ("张三", "张三"), (42, 42), ("", ""),
])
def test_safe_cell_neutralises_formula_text(value, expected):
    assert tables.safe_cell(value) == expected


HOSTILE_NAMES = ["=HYPERLINK(\"http://x\",\"点我\")", "+86-1", "-1+2", "@SUM(1)"]


def test_exported_tally_cells_never_start_a_formula(ctx, client, login, org, frozen):
    """Member names that look like formulas are exported as text in both XLSX and CSV."""
    frozen("2026-11-23 09:00")
    for name in HOSTILE_NAMES:
        factories.member(org.branch_a, name=name)
    headers = login(org.secretary_a)
    url = f"/api/v1/branches/{org.branch_a.id}/quota-board/export"
    xlsx = client.get(url + "?format=xlsx", headers=headers)
    assert xlsx.status_code == 200, xlsx.data[:200]
    cells = [c for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True) for c in row
             if isinstance(c, str)]
    exported = client.get(url + "?format=csv", headers=headers)
    assert exported.status_code == 200
    cells_csv = [c for row in csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))) for c in row]
    for found in (cells, cells_csv):
        assert not [c for c in found if c[:1] in ("=", "+", "-", "@")]
        for name in HOSTILE_NAMES:
            assert "'" + name in found


def test_html_bodies_lose_scripts_handlers_and_javascript_links(client, login, org, frozen):
    """A material body in HTML reaches the phone without script, event handlers, iframes or javascript: links."""
    frozen("2026-11-23 09:00")
    hostile = ('<p onclick="steal()">学习</p><script>alert(1)</script><img src=x onerror="alert(2)">'
               '<a href="javascript:alert(3)">链接</a><iframe src="http://evil"></iframe><style>*{}</style>')
    created = client.post("/api/v1/materials", headers=login(org.secretary_a), json={
        "title": "HTML 正文", "day": "2026-11-23", "body": hostile, "body_format": "html", "publish": True})
    assert created.status_code == 201, created.get_json()
    body = client.get(f"/api/v1/materials/{created.get_json()['id']}", headers=login(org.member_a)).get_json()["body"]
    assert "学习" in body
    for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<style", "alert("):
        assert bad not in body.lower()


SQLISH = ["' OR '1'='1", "%' OR 1=1 --", "张三'; DROP TABLE members; --", "\" UNION SELECT phone FROM members --",
          "%", "_", "\\", "'" * 3000]


@pytest.mark.parametrize("q", SQLISH)
def test_search_strings_that_look_like_sql_match_only_literally(ctx, client, login, org, q):
    """SQL-looking and wildcard searches are answered as plain text: no error, no extra rows, nothing dropped."""
    headers = login(org.secretary_a)
    before = Member.query.count()
    members = client.get(f"/api/v1/branches/{org.branch_a.id}/members", headers=headers, query_string={"q": q})
    assert members.status_code in (200, 422)
    if members.status_code == 200:
        assert members.get_json()["total"] == 0, members.get_json()
    for url in ("/api/v1/materials", "/api/v1/questions", "/api/v1/manage/materials"):
        response = client.get(url, headers=headers, query_string={"q": q})
        assert response.status_code in (200, 422), (url, response.get_json())
    assert Member.query.count() == before


def _inflating_xlsx(sheet_rows_xml):
    """A valid XLSX (headers in row 1, no <dimension>) whose first sheet then holds sheet_rows_xml, padded with an
    incompressible picture so the archive stays under the compression-ratio check (442 KB → 36.7 MB in the issue)."""
    import os
    import re

    source = zipfile.ZipFile(io.BytesIO(_xlsx([ROSTER_HEADERS])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<dimension[^>]*/>", b"", data).replace(b"</sheetData>",
                                                                        sheet_rows_xml + b"</sheetData>")
            archive.writestr(info, data)
        archive.writestr("xl/media/image1.png", os.urandom(400 * 1024))
    return out.getvalue()


@pytest.mark.parametrize("kind,url", UPLOADS, ids=[u[0] for u in UPLOADS])
@pytest.mark.parametrize("rows_xml", [
    b'<row r="2">' + b"<c/>" * (9 * 1024 * 1024) + b"</row>",
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>' + b"<row/>" * (6 * 1024 * 1024),
], ids=["9M-empty-cells-in-one-row", "6M-empty-rows"])
def test_an_xlsx_inflating_to_millions_of_empty_cells_is_refused_within_seconds(ctx, client, login, org, kind, url,
                                                                                rows_xml):
    """Issue #15 item 7: a ~0.5 MB upload inside MAX_UPLOAD_BYTES whose sheet inflates to ~37 MB of empty cells (or
    rows) answers the JSON error shape at once instead of holding the worker for 30 s; nothing is written."""
    import time

    data = _inflating_xlsx(rows_xml)
    assert len(data) < 1024 * 1024 and len(data) * 60 < sum(
        i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    before = Member.query.count()
    started = time.monotonic()
    response = _upload(client, url(org), login(org.secretary_a), data, "名册.xlsx")
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["code"] == "file_too_large" and "最多" in response.get_json()["message"]
    assert Member.query.count() == before

