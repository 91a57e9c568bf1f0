"""The onboarding wizard: from a Stripe key to running dataflows."""
