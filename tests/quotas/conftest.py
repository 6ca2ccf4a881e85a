"""Helpers for the 1+4+1 tests: exchanges and book reports made through the API, as a secretary or phone would."""
import pytest

REFLECTION = "这本书系统讲解了分布式系统的一致性与容错设计，结合我们班组的调度平台改造，" * 4


@pytest.fixture
def make_exchange(client, login):
    """Create an exchange through the API (as `who`) and return its JSON."""

    def _make(who, speakers=(), starts="2026-11-23T14:00:00", ends="2026-11-23T16:00:00", expect=201, **extra):
        body = {"title": extra.pop("title", "微服务架构实践交流"), "starts_at": starts, "ends_at": ends,
                "place": "三楼会议室", "summary": "分享订单系统拆分经验", "speaker_ids": [s.id for s in speakers],
                **extra}
        response = client.post("/api/v1/exchanges", json=body, headers=login(who))
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    return _make


@pytest.fixture
def report_book(client, login):
    """Report a book through the API (as `who`) and return the response."""

    def _report(who, title="数据密集型应用系统设计", author="Martin Kleppmann", finished_on="2026-10-08", **extra):
        body = {"title": title, "author": author, "finished_on": finished_on, "reflection": REFLECTION, **extra}
        return client.post("/api/v1/me/books", json=body, headers=login(who))

    return _report
