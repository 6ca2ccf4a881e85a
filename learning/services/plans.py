"""Importing a study plan: a spreadsheet or JSON list of material for many days, checked row by row, then written."""
import re
from datetime import datetime

from flask import current_app
from marshmallow import ValidationError

from core import audit, clock
from core.errors import Invalid
from core.extensions import db
from core.tables import read_upload, reject_rows, row_error, split_tags
from learning.models import KIND_LABELS
from learning.schemas import PlanItemSchema
from learning.services.materials import _new_material
from learning.services.visibility import _expand_audience, resolve_audience

PLAN_HEADERS = ("日期", "标题", "来源", "原文链接", "摘要", "正文", "类型", "预计分钟", "标签")
PLAN_REQUIRED = ("日期", "标题")
KIND_BY_LABEL = {**{label: kind for kind, label in KIND_LABELS.items()}, **{k: k for k in KIND_LABELS}}


def _plan_audience(actor, args):
    if "committee_id" in args and "branch_id" in args:
        raise Invalid("committee_id 与 branch_id 只能选一个")
    if "branch_id" in args:
        return {"branch_ids": [args["branch_id"]]}
    if "committee_id" in args:
        return {"committee_id": args["committee_id"]}
    return None


def import_plan_file(actor, file_storage, args):
    """Import a plan from CSV/XLSX (Chinese headers): validated as a whole, every row or none."""
    audience = resolve_audience(actor, _plan_audience(actor, args))
    rows = read_upload(file_storage, PLAN_HEADERS, PLAN_REQUIRED, current_app.config["IMPORT_MAX_ROWS"])
    parsed, errors = [], []
    for number, row in rows:
        item, problems = _parse_plan_row(number, row)
        errors.extend(problems)
        parsed.append((number, item))
    return _apply_plan(actor, audience, parsed, errors, args["publish"], file_storage.filename)


def import_plan_json(actor, body):
    """Import a plan given as JSON items: validated as a whole, every item or none."""
    audience = resolve_audience(actor, body.get("audience"))
    schema, parsed, errors = PlanItemSchema(), [], []
    for number, raw in enumerate(body["items"], start=1):
        try:
            parsed.append((number, schema.load(raw)))
        except ValidationError as exc:
            for field, reasons in sorted(exc.normalized_messages().items()):
                errors.append(row_error(number, field, "；".join(_flat(reasons))))
    return _apply_plan(actor, audience, parsed, errors, body["publish"], None)


def _flat(reasons):
    if isinstance(reasons, dict):
        return [f"{k}: {r}" for k, v in reasons.items() for r in _flat(v)]
    return [str(r) for r in (reasons if isinstance(reasons, list) else [reasons])]


def _parse_plan_row(number, row):
    problems, item = [], {"body_format": "markdown"}
    try:
        item["day"] = datetime.strptime(row["日期"].replace("/", "-"), "%Y-%m-%d").date()
    except ValueError:
        problems.append(row_error(number, "日期", "日期格式应为 YYYY-MM-DD"))
    title = row["标题"]
    if not title or len(title) > 200:
        problems.append(row_error(number, "标题", "标题不能为空，且不超过 200 个字"))
    item["title"] = title
    for header, name, limit in (("来源", "source", 100), ("摘要", "summary", 1000), ("正文", "body", 200000)):
        value = row.get(header, "")
        if len(value) > limit:
            problems.append(row_error(number, header, f"不能超过 {limit} 个字"))
        item[name] = value
    url = row.get("原文链接", "")
    if url and (not re.match(r"^https?://[^\s]+$", url) or len(url) > 500):
        problems.append(row_error(number, "原文链接", "应为 http:// 或 https:// 开头的网址"))
    item["url"] = url or None
    kind = row.get("类型", "") or "文章"
    if kind not in KIND_BY_LABEL:
        problems.append(row_error(number, "类型", "类型应为 文章、视频 或 文件"))
    item["kind"] = KIND_BY_LABEL.get(kind, "article")
    minutes = row.get("预计分钟", "") or "5"
    if not minutes.isdigit() or not 1 <= int(minutes) <= 600:
        problems.append(row_error(number, "预计分钟", "应为 1 到 600 之间的整数"))
    else:
        item["estimated_minutes"] = int(minutes)
    tags = split_tags(row.get("标签", ""))
    if len(tags) > 10 or any(len(t) > 20 for t in tags):
        problems.append(row_error(number, "标签", "最多 10 个标签，每个不超过 20 个字"))
    item["tags"] = tags
    return item, problems


def _apply_plan(actor, audience, parsed, errors, publish, filename):
    seen = {}
    column = "标题" if filename is not None else "title"
    for number, item in parsed:
        if "day" in item and publish and item["day"] < clock.today():
            errors.append(row_error(number, "日期" if filename is not None else "day", "学习日已过"))
        key = (item.get("day"), item.get("title"))
        if key in seen:
            errors.append(row_error(number, column, f"与第 {seen[key]} 行的日期和标题重复"))
        else:
            seen[key] = number
    if errors:
        reject_rows(sorted(errors, key=lambda e: (e["row"], e["column"])))
    kind, committee_id, branch_id, ids = audience
    created = []
    for _, item in parsed:
        material = _new_material(actor, dict(item, publish=publish), kind, committee_id, branch_id)
        created.append(material)
    db.session.flush()
    for material in created:
        _expand_audience(material, ids)
    audit.record(actor, "material.import", "plan", None, filename=filename, created=len(created),
                 published=publish)
    db.session.commit()
    return {"created": len(created), "ids": [m.id for m in created]}
