"""The mapping set a flow uses, as drift checks and the mapping editor read it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aep.types import Flow, MappingSet
from core.explain import explain_failure, no_mapping_set
from monitoring import drift
from monitoring.clients import NoMappingSet, mapping_set_in_use
from monitoring.models import SchemaDrift
from monitoring.tasks import deliver_later
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_account, make_dataflow


def flow(*transformations: dict) -> Flow:
    return Flow.from_api({"id": "flow-1", "transformations": list(transformations)})


class FakeDataPrep:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int | None]] = []

    def get_mapping_set(self, mapping_set_id: str, *, version: int | None = None) -> MappingSet:
        self.asked.append((mapping_set_id, version))
        return MappingSet(id=mapping_set_id, version=version or 0)


def test_it_reads_the_version_the_flow_uses():
    dataprep = FakeDataPrep()
    client = SimpleNamespace(dataprep=dataprep)
    mapping = {"name": "Mapping", "params": {"mappingId": "m-1", "mappingVersion": "3"}}
    got = mapping_set_in_use(client, flow(mapping))
    assert (got.id, got.version) == ("m-1", 3)
    assert dataprep.asked == [("m-1", 3)]


@pytest.mark.parametrize(
    "transformations",
    [(), ({"name": "Encryption", "params": {}},), ({"name": "Mapping", "params": {}},)],
)
def test_a_flow_without_a_mapping_set_is_explained_in_words(transformations):
    dataprep = FakeDataPrep()
    with pytest.raises(NoMappingSet) as raised:
        mapping_set_in_use(SimpleNamespace(dataprep=dataprep), flow(*transformations))
    assert dataprep.asked == []
    assert explain_failure(raised.value).message == no_mapping_set()


class DriftCheckTestCase(BaseTestCase):
    def test_a_flow_without_a_mapping_set_cannot_be_checked(self):
        sandbox = make_sandbox()
        dataflow = make_dataflow(sandbox, account=make_account(sandbox, connection_id="conn-1"))
        client = SimpleNamespace(
            flowservice=SimpleNamespace(
                explore_connection=lambda *a, **k: SimpleNamespace(schema={}),
                get_flow=lambda flow_id: flow(),
            ),
            dataprep=FakeDataPrep(),
        )
        assert drift.check_in_background(dataflow.pk, lambda s: client, deliver_later) == "failed"
        assert SchemaDrift.objects.get(dataflow=dataflow).error == no_mapping_set()
