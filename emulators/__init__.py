"""Local stand-ins for Adobe Experience Platform and Stripe, each run as its own process."""
