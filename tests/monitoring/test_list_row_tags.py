"""The list rows' cached helpers give what Django's own would: `pk_url` what `{% url %}` gives,
`choice_label` what `get_<field>_display` gives, in each language."""

from __future__ import annotations

import pytest
from django.urls import reverse, set_script_prefix
from django.utils import translation

from monitoring.models import Dataflow, Run
from monitoring.templatetags.monitoring_tags import choice_label, pk_url


@pytest.mark.parametrize("name", ["monitoring:dataflow-detail", "monitoring:account-detail"])
def test_pk_url_is_the_reversed_url(name):
    for pk in (1, 42, 2_000_000_000):
        assert pk_url(pk, name) == reverse(name, args=[pk])


def test_pk_url_follows_the_script_prefix():
    try:
        set_script_prefix("/sources/")
        assert pk_url(7, "monitoring:dataflow-detail") == "/sources/dataflows/7/"
    finally:
        set_script_prefix("/")
    assert pk_url(7, "monitoring:dataflow-detail") == "/dataflows/7/"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_choice_label_is_the_display_value_in_each_language(language):
    with translation.override(language):
        for health in Dataflow.Health.values:
            flow = Dataflow(health=health, last_run_status="partialSuccess")
            assert choice_label(flow, "health") == flow.get_health_display()
            assert choice_label(flow, "last_run_status") == flow.get_last_run_status_display()
        # A status AEP sent that nobody foresaw is shown as it came.
        assert choice_label(Run(status="retrying"), "status") == "retrying"
