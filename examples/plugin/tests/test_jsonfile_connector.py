"""What the contract does not cover: the example's own checks and error kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from talk_core.errors import AccessDenied, ConnectorError, RecordError, TransientError
from talk_jsonfile import JsonFileConnector, JsonFolder


@pytest.fixture
def connector(tmp_path: Path) -> JsonFileConnector:
    return JsonFileConnector(JsonFolder(tmp_path / "data"), page_size=2)


def test_unknown_fields_are_refused_by_name(connector: JsonFileConnector) -> None:
    with pytest.raises(RecordError, match=r"companies: unknown field\(s\) colour, size"):
        connector.create("companies", {"name": "A", "colour": "red", "size": "L"}, key="k")


def test_values_must_be_text(connector: JsonFileConnector) -> None:
    with pytest.raises(RecordError, match="companies: phone must be text, got 12345"):
        connector.create("companies", {"name": "A", "phone": 12345}, key="k")


def test_a_required_field_cannot_be_cleared(connector: JsonFileConnector) -> None:
    made = connector.create("companies", {"name": "A"}, key="k")
    with pytest.raises(RecordError, match="companies: name is required"):
        connector.update("companies", made.id, {"name": None})
    assert connector.update("companies", made.id, {"email": None}).properties["name"] == "A"


def test_a_repeated_create_key_answers_the_first_record(connector: JsonFileConnector) -> None:
    first = connector.create("companies", {"name": "A"}, key="same")
    again = connector.create("companies", {"name": "A"}, key="same")
    assert again.id == first.id
    assert [e.id for page in connector.read("companies", None) for e in page.entities] == [
        first.id]


def test_each_page_resumes_right_after_itself(connector: JsonFileConnector) -> None:
    ids = [connector.create("companies", {"name": f"C{n}"}, key=str(n)).id for n in range(5)]
    pages = list(connector.read("companies", None))
    assert [len(p.entities) for p in pages] == [2, 2, 1]
    resumed = [e.id for p in connector.read("companies", pages[0].cursor) for e in p.entities]
    assert resumed == ids[2:]


def test_a_damaged_file_names_itself(connector: JsonFileConnector) -> None:
    connector.folder.path.mkdir(parents=True)
    (connector.folder.path / "companies.json").write_text("{not json")
    with pytest.raises(ConnectorError, match=r"companies: .*companies\.json: not valid JSON"):
        list(connector.read("companies", None))


def test_a_cursor_that_is_no_version_is_refused(connector: JsonFileConnector) -> None:
    with pytest.raises(ConnectorError, match="companies: cursor 'abc' is not a version number"):
        list(connector.read("companies", "abc"))


def _failing(error: OSError):  # type: ignore[no-untyped-def]
    def insert(*args: object, **kwargs: object) -> None:
        raise error
    return insert


def test_a_folder_talk_may_not_write_stops_the_run(connector: JsonFileConnector,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    denied = PermissionError(13, "Permission denied", "/srv/data/companies.json")
    monkeypatch.setattr(JsonFolder, "insert", _failing(denied))
    with pytest.raises(AccessDenied, match=r"cannot use /srv/data/companies\.json: permission"):
        connector.create("companies", {"name": "B"}, key="k2")


def test_other_file_errors_are_worth_a_retry(connector: JsonFileConnector,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(JsonFolder, "insert", _failing(OSError(28, "No space left on device")))
    with pytest.raises(TransientError, match=r"companies: .*data: No space left on device"):
        connector.create("companies", {"name": "B"}, key="k2")


def test_an_unknown_datatype_is_named(connector: JsonFileConnector) -> None:
    with pytest.raises(KeyError, match="has no datatype 'orders'; it has companies, contacts"):
        connector.get("orders", "1")


def test_a_record_another_program_broke_is_rejected_alone(connector: JsonFileConnector) -> None:
    good = connector.create("companies", {"name": "Good"}, key="good").id
    broken, _ = connector.folder.insert("companies", {"name": "Bad", "phone": 4722334455})
    [page] = connector.read("companies", None)
    assert [e.id for e in page.entities] == [good]
    [reject] = page.rejects
    assert reject.external_id == broken
    assert reject.error == f"companies {broken}: phone must be text, got 4722334455"
