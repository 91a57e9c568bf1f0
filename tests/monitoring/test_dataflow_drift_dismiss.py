"""Dismissing schema drift findings: one or all, by those who may edit the mapping."""

from __future__ import annotations

from monitoring import drift
from monitoring.models import SchemaDrift
from tests.monitoring.pages import FINDINGS, NEW_KEY, REMOVED_KEY, DriftPageTestCase


class DismissTestCase(DriftPageTestCase):
    def test_an_editor_dismisses_one_finding(self):
        self.checked(FINDINGS)
        self.login(self.mina)
        response = self.client.post(f"{self.url}schema/dismiss/", {"key": REMOVED_KEY})
        assert response.status_code == 302
        row = SchemaDrift.objects.get(dataflow=self.flow)
        assert row.dismissed == [REMOVED_KEY] and row.dismissed_by == self.mina
        assert not row.has_breaking and not drift.has_open_breaking_drift(self.flow)
        section = self.section()
        assert "no longer sends" not in section and "risk_score" in section
        assert "1 dismissed change stays hidden" in section

    def test_all_findings_can_be_dismissed_at_once(self):
        self.checked(FINDINGS)
        self.login(self.sam)
        self.client.post(f"{self.url}schema/dismiss/", {"key": "all"})
        row = SchemaDrift.objects.get(dataflow=self.flow)
        assert set(row.dismissed) == {REMOVED_KEY, NEW_KEY}
        assert "the mapping covers every field it reads" in self.section(self.sam)

    def test_a_finding_that_is_gone_or_unknown_is_an_error_not_a_change(self):
        self.login(self.mina)
        for data in ({}, {"key": "nope"}, {"key": REMOVED_KEY}):
            response = self.client.post(f"{self.url}schema/dismiss/", data, follow=True)
            assert response.status_code == 200
            assert "That change is not reported any more" in response.content.decode()
        self.checked(FINDINGS)
        self.client.post(f"{self.url}schema/dismiss/", {"key": "new:data.other"})
        assert SchemaDrift.objects.get(dataflow=self.flow).dismissed == []

    def test_only_people_who_may_edit_the_mapping_dismiss(self):
        self.checked(FINDINGS)
        self.login(self.mark)
        response = self.client.post(f"{self.url}schema/dismiss/", {"key": REMOVED_KEY})
        assert response.status_code == 403
        assert SchemaDrift.objects.get(dataflow=self.flow).dismissed == []
