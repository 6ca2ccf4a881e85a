"""Schema pieces every room uses: strict bodies, pagination."""
from marshmallow import Schema, fields, validate, RAISE


class StrictSchema(Schema):
    """A request body: unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = RAISE


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


def page_schema(item_schema, name):
    """Return a paginated envelope schema class for item_schema."""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total": fields.Integer(),
    })


def paginate(select_stmt, page, per_page):
    """Run a select with LIMIT/OFFSET and a count; return the envelope dict."""
    from sqlalchemy import func, select

    from core.extensions import db

    total = db.session.scalar(select(func.count()).select_from(select_stmt.order_by(None).subquery()))
    items = db.session.scalars(select_stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}
