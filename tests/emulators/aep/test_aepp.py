"""aepp, the community Python SDK for AEP, reads what a wizard run created in the emulator.

A client written by others for the real AEP judges the emulator as the official `stripe`
package judges the Stripe stand-in: each of its read calls must get an answer as complete as
Adobe's documented examples, or aepp fails where the product's tolerant client would not.
"""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID
from monitoring.models import Dataflow
from onboarding.models import Draft
from tests.base import PASSWORD, make_user
from tests.emulator_world import emulator_sandbox, run_now
from tests.onboarding.driver import relax_sqlite_locks, run_until_review, wait_draft

aepp = pytest.importorskip("aepp")

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def configure_aepp(emulator_url: str, sandbox_name: str):
    """aepp's configuration, pointed at the emulator: platform and IMS on one address.

    aepp's "support" environment takes the platform address as given; its IMS address is
    fixed, so the token endpoint it reads from the configuration is replaced.
    """
    from aepp import config as aepp_config
    from aepp import configs

    configs.configure(
        org_id=DEMO_ORG_ID,
        client_id=DEMO_CLIENT_ID,
        secret=DEMO_CLIENT_SECRET,
        sandbox=sandbox_name,
        scopes="openid,AdobeID,read_organizations,additional_info.projectedProductContext",
        environment="support",
        endpoint=emulator_url,
    )
    aepp_config.config_object["imsEndpoint"] = emulator_url
    aepp_config.config_object["oauthTokenEndpointV2"] = f"{emulator_url}/ims/token/v3"
    return aepp_config.config_object


@pytest.fixture
def wizard_flow(celery_worker_thread, aep_emulator, stripe_stand_in) -> Dataflow:
    """A dataflow the wizard created in its own AEP sandbox, with at least one finished run."""
    from core.roles import MARKETING_OPS, ensure_roles

    ensure_roles()
    user = make_user("mina", MARKETING_OPS)
    relax_sqlite_locks()
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    with override_settings(STRIPE_API_BASE=stripe_stand_in.url, ONBOARDING_STEP_RETRIES=0):
        sandbox = emulator_sandbox(aep_emulator.url, sandbox_name="dev")
        draft = run_until_review(
            client, sandbox, stripe_stand_in.secret_key, ["charges"], check_mapping=False
        )
        draft.error_diagnostics = True
        draft.save()
        response = client.post(f"/wizard/{draft.pk}/review/")
        assert response.status_code == 302, response.content.decode()[:2000]
        draft = wait_draft(draft, Draft.Status.DONE, Draft.Status.FAILED)
        assert draft.status == Draft.Status.DONE, (draft.error, list(draft.steps.values()))
    dataflow = Dataflow.objects.get(sandbox=sandbox, resource_path="charges")
    run_now(aep_emulator.url, dataflow.flow_id)
    return dataflow


def ids(items) -> set[str]:
    return {item["id"] for item in items}


def test_aepp_reads_everything_the_wizard_created(wizard_flow, aep_emulator):
    from aepp import catalog, dataprep, flowservice, schema

    dataflow = wizard_flow
    config = configure_aepp(aep_emulator.url, dataflow.sandbox.sandbox_name)

    flows = flowservice.FlowService(config=config)
    # Every page (`n_results="inf"`): the sandbox holds other tests' objects too.
    assert dataflow.flow_id in ids(flows.getFlows(n_results="inf"))
    assert dataflow.account.connection_id in ids(flows.getConnections(n_results="inf"))
    assert dataflow.source_connection_id in ids(flows.getSourceConnections(n_results="inf"))
    assert dataflow.target_connection_id in ids(flows.getTargetConnections(n_results="inf"))
    flow = flows.getFlow(dataflow.flow_id)
    assert flow["id"] == dataflow.flow_id
    assert flow["sourceConnectionIds"] == [dataflow.source_connection_id]
    runs = flows.getRuns(prop=f"flowId=={dataflow.flow_id}")
    assert runs and {run["flowId"] for run in runs} == {dataflow.flow_id}
    assert flows.getRun(runs[0]["id"])
    spec_id = flow["flowSpec"]["id"]
    assert spec_id in ids(flows.getFlowSpecs())
    assert flows.getFlowSpec(spec_id)["id"] == spec_id
    connection = flows.getConnection(dataflow.account.connection_id)
    connection_spec_id = connection["connectionSpec"]["id"]
    assert connection_spec_id in ids(flows.getConnectionSpecs())
    # aepp hands back the body of this one as AEP sends it, `{"items": [spec]}`.
    assert flows.getConnectionSpec(connection_spec_id)["items"][0]["id"] == connection_spec_id
    assert flows.getSourceConnection(dataflow.source_connection_id)["id"]
    assert flows.getTargetConnection(dataflow.target_connection_id)["id"]

    registry = schema.Schema(config=config)
    schemas = registry.getSchemas()
    assert dataflow.schema_id in {s["$id"] for s in schemas}
    assert registry.getSchema(dataflow.schema_id, full=True)["$id"] == dataflow.schema_id
    field_groups = registry.getFieldGroups()
    assert field_groups and all("$id" in group for group in field_groups)
    assert registry.getClasses()
    assert registry.getTenantId()

    prep = dataprep.DataPrep(config=config)
    mapping_set = prep.getMappingSet(dataflow.mapping_set_id)
    assert mapping_set["id"] == dataflow.mapping_set_id
    assert dataflow.mapping_set_id in ids(prep.getMappingSets(name=mapping_set["name"]))

    datasets = catalog.Catalog(config=config)
    name = datasets.getDataSet(dataflow.dataset_id)[dataflow.dataset_id]["name"]
    listing = datasets.getDataSets(name=name)
    assert dataflow.dataset_id in listing
    # aepp reads these while caching; a dataset lacking them makes it print and skip.
    assert datasets.data.ids.get(listing[dataflow.dataset_id]["name"]) == dataflow.dataset_id
    assert listing[dataflow.dataset_id]["name"] in datasets.data.table_names
    infos = datasets.getDatasetsInfos(caching=[{"id": k, **v} for k, v in listing.items()])
    assert dataflow.dataset_id in set(infos["id"])
