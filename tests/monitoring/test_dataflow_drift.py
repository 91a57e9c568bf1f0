"""The Stripe schema section of the dataflow page: its states, who sees what, and Korean."""

from __future__ import annotations

from django.conf import settings

from tests.monitoring.pages import FINDINGS, PREFIX, DriftPageTestCase


class SchemaDriftPageTestCase(DriftPageTestCase):
    def test_it_says_when_nothing_was_checked_yet(self):
        assert "Not checked yet. The first check runs within a day." in self.section()

    def test_it_is_quiet_when_the_mapping_covers_every_field(self):
        self.checked([])
        section = self.section()
        assert "Checked 2.0 h ago: the mapping covers every field it reads." in section
        assert "Breaking" not in section and "Dismiss" not in section

    def test_marketing_ops_sees_findings_but_only_editors_get_the_mapping_link(self):
        self.checked(FINDINGS)
        mapping_link = f'href="/ops/dataflows/{self.flow.pk}/mapping/"'
        for user in (self.mark, self.mina, self.sam, self.alex):
            section = self.section(user)
            assert "Stripe now sends <code>data.outcome.risk_score</code>; not mapped." in section
            assert f"Suggested target: <code>{PREFIX}.outcome.risk_score</code>" in section
            assert (
                f"Rule <code>data.metadata.order_id → {PREFIX}.order_id</code> reads "
                "<code>data.metadata.order_id</code>, a field Stripe no longer sends."
            ) in section
            editor = user != self.mark
            assert (mapping_link in section) is editor, user
            assert ('name="key"' in section) is editor, user
        assert "The flow's owner, Support or an Admin can change the mapping." in (
            self.section(self.mark)
        )

    def test_breaking_findings_come_first(self):
        self.checked(FINDINGS)
        section = self.section()
        assert section.index("Breaking") < section.index("New field")

    def test_people_without_a_role_see_nothing(self):
        self.checked(FINDINGS)
        self.login(self.nora)
        assert self.client.get(self.url).status_code == 403
        assert self.client.get(f"{self.url}schema/").status_code == 403

    def test_it_is_in_korean(self):
        self.checked(FINDINGS)
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
        section = self.section()
        assert "Stripe 스키마" in section and "지금 확인" in section
        assert "Stripe가 이제 <code>data.outcome.risk_score</code> 필드를 보냅니다" in section
