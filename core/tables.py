"""Spreadsheet import and export: CSV (UTF-8 with or without BOM, or GBK) and XLSX, safely."""
import csv
import io
import re
import zipfile
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook, load_workbook

from core.errors import Invalid
from core.schemas import unsafe_text_reason

MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024  # a zip bomb stops here
MAX_XLSX_RATIO = 200
START_TAG = re.compile(rb"<[A-Za-z_]")  # an element's start tag (not </, <? or <!)
XLSX_ELEMENTS_PER_CELL = 4  # <c><is><t> or <c><v>, <si><t>, plus the row: a real sheet stays well under it
XLSX_ELEMENTS_OVERHEAD = 50000  # styles, theme, workbook, relationships
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TAG_SPLIT = re.compile(r"[,，、;；\s]+")  # the separators people type between tags, Chinese and Western


def read_upload(file_storage, headers, required=(), max_rows=20000):
    """Read an uploaded CSV/XLSX into [(row_number, {header: value})]; reject a bad file as a whole.

    Row numbers are those a spreadsheet shows: the header is row 1, the first data row is row 2. The header row is
    checked first and reading stops at the row limit, so a hostile file costs at most max_rows rows of work; a cell
    with a control, bidi or zero-width character is reported by row and column, as any import's row errors are.
    """
    if file_storage is None:
        raise Invalid("请上传文件", code="file_missing", details={"field": "file"})
    data = file_storage.read()
    if not data:
        raise Invalid("上传的文件是空的", code="file_empty")
    name = (file_storage.filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data, headers, required, max_rows)
    if name.endswith(".csv") or name.endswith(".txt") or not name:
        return _rows(_read_csv(data), headers, required, max_rows)
    raise Invalid("只支持 CSV 或 XLSX 文件", code="file_type")


def _read_csv(data):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("无法识别文件编码，请使用 UTF-8 或 GBK", code="file_encoding")
    if "\x00" in text:
        raise Invalid("文件内容不是文本表格", code="file_corrupt")
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise Invalid("CSV 格式错误", code="file_corrupt", details={"reason": str(exc)})


def _count_elements(archive, limit, error):
    """Count the start tags in every part, streaming, in C; raise error as soon as there are more than limit.

    Every part, whatever its name: the workbook's relationships, not the name, decide what openpyxl parses."""
    seen = 0
    for info in archive.infolist():
        tail = b""
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                block = tail + chunk
                cut = block.rfind(b"<")  # a tag cut by the chunk's end is counted with the next chunk
                seen += len(START_TAG.findall(block, 0, cut))
                tail = block[cut:]
                if seen > limit:
                    raise error
        seen += len(START_TAG.findall(tail))
        if seen > limit:
            raise error


def _read_xlsx(data, headers, required, max_rows):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
            if total > MAX_XLSX_UNCOMPRESSED or total > MAX_XLSX_RATIO * max(len(data), 1):
                raise Invalid("文件解压后过大，已拒绝", code="file_too_large")
            # openpyxl spends microseconds of Python on every element, and scans every sheet whole when it opens
            # the workbook (looking for <dimension>): a sheet of millions of empty <c/> cells must stop here.
            limit = XLSX_ELEMENTS_PER_CELL * (max_rows + 1) * (len(headers) + 1) + XLSX_ELEMENTS_OVERHEAD
            _count_elements(archive, limit, Invalid(f"表格过大：每次最多导入 {max_rows} 行、{len(headers)} 列",
                                                    code="file_too_large"))
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return _rows(workbook.worksheets[0].iter_rows(values_only=True), headers, required, max_rows)
        finally:
            workbook.close()
    except Invalid:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise Invalid("无法读取 XLSX 文件，请确认文件未损坏", code="file_corrupt",
                      details={"reason": exc.__class__.__name__})


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(grid, headers, required, max_rows):
    """Rows of a sheet (an iterator of cell sequences): header checked first, reading stopped past max_rows."""
    grid = iter(grid)
    found = next((cells for cells in ([_cell(c) for c in row] for row in grid) if any(cells)), None)
    if found is None:
        raise Invalid("文件没有内容", code="file_empty")
    missing = [h for h in headers if h in required and h not in found]
    if missing:
        raise Invalid("缺少必需的列：" + "、".join(missing), code="file_headers",
                      details={"missing": missing, "expected": list(headers)})
    unknown = [h for h in found if h and h not in headers]
    if unknown:
        raise Invalid("无法识别的列：" + "、".join(unknown), code="file_headers",
                      details={"unknown": unknown, "expected": list(headers)})
    index = {h: i for i, h in enumerate(found) if h}
    rows, errors = [], []
    for number, raw in enumerate(grid, start=2):
        cells = {h: (_cell(raw[i]) if i < len(raw) else "") for h, i in index.items()}
        if not any(cells.values()):
            continue
        if len(rows) == max_rows:
            raise Invalid(f"行数过多，每次最多导入 {max_rows} 行", code="file_too_large")
        rows.append((number, cells))
        errors += [row_error(number, h, reason) for h, value in cells.items() if (reason := unsafe_text_reason(value))]
    if not rows:
        raise Invalid("文件只有表头，没有数据行", code="file_empty")
    if errors:
        reject_rows(errors)
    return rows


def row_error(row, column, reason):
    """One per-row error as every import reports it."""
    return {"row": row, "column": column, "reason": reason}


def reject_rows(errors):
    """Raise the all-or-nothing import failure listing every bad row."""
    raise Invalid(f"文件中有 {len(errors)} 处错误，未导入任何数据", code="import_rejected",
                  details={"errors": errors})


def split_tags(text):
    """The non-empty tags of a "标签" cell or field, in the order written."""
    return [tag for tag in TAG_SPLIT.split(text or "") if tag]


def safe_cell(value):
    """Neutralise a cell a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(headers, rows):
    """Return CSV bytes with a UTF-8 BOM, so Excel opens the Chinese headers correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(headers, rows, title="Sheet1"):
    """Return XLSX bytes with headers and rows, formula-looking text neutralised."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def download(body, filename, kind):
    """A Flask response for an export; kind is 'csv' or 'xlsx'."""
    # content_type, not mimetype: Flask appends "; charset=utf-8" to a text/* mimetype itself.
    response = Response(body, content_type="text/csv; charset=utf-8" if kind == "csv" else XLSX_MIME)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def documented_download(bp, *kinds):
    """Decorator: document an endpoint's 200 as a file download of the given kinds ('csv', 'xlsx')."""
    mimes = {"csv": "text/csv", "xlsx": XLSX_MIME}
    content = {mimes[kind]: {"schema": {"type": "string", "format": "binary"}} for kind in kinds}
    return bp.doc(responses={"200": {"description": "文件下载", "content": content}})
