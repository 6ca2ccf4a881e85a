"""Shared steps for the learning tests: publish through the API as a secretary or admin would."""


def publish(client, headers, day="2026-11-23", minutes=2, **fields):
    """Publish one item for a day through the API and return its JSON."""
    body = {"title": fields.pop("title", "学习贯彻党的二十届四中全会精神"), "day": day, "estimated_minutes": minutes,
            "source": "人民网", "summary": "全会精神要点", "body": "## 要点\n\n坚持和加强党的全面领导。",
            "tags": ["全会精神"], "publish": True}
    body.update(fields)
    response = client.post("/api/v1/materials", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
