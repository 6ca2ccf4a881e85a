"""Turn the console's HTML forms into the bodies the rooms' schemas load, so validation stays in one place."""
from core.tables import split_tags
from members.scope import manages_committee


def material_body(form, member):
    """A MaterialCreateSchema body from the material form."""
    body = {"title": form.get("title", "").strip(), "day": form.get("day", ""),
            "body": form.get("body", ""), "body_format": "markdown", "publish": form.get("publish") == "1"}
    for name in ("summary", "source"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    if form.get("kind"):
        body["kind"] = form["kind"]
    if form.get("estimated_minutes", "").strip():
        body["estimated_minutes"] = form["estimated_minutes"].strip()
    tags = split_tags(form.get("tags", ""))
    if tags:
        body["tags"] = tags
    audience = form.get("audience", "")
    if manages_committee(member) and audience.startswith("branch:"):
        body["audience"] = {"branch_ids": [audience.split(":", 1)[1]]}
    return body


def question_body(form, kind):
    """A QuestionUpdateSchema body from the question form (options one per line)."""
    body = {"stem": form.get("stem", "").strip(), "answer": form.get("answer", "").strip(),
            "explanation": form.get("explanation", "").strip(), "source": form.get("source", "").strip(),
            "tags": split_tags(form.get("tags", ""))}
    if kind in ("single", "multiple"):
        body["options"] = [line.strip() for line in form.get("options", "").splitlines() if line.strip()]
    if form.get("difficulty", "").strip():
        body["difficulty"] = form["difficulty"].strip()
    return body
