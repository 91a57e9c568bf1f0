"""Build Stripe objects with the field shapes of ``fixtures.json`` and realistic values.

Every object starts as a fresh copy of the Stripe sample object for its type, so its keys and
nesting match the real API; the builder then fills in ids, amounts, people and references.
All randomness comes from the ``random.Random`` handed in, which keeps seeding deterministic.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulators.stripe.resources import RESOURCES

FIXTURES_PATH = Path(__file__).with_name("fixtures.json")
_FIXTURES: dict[str, Any] = json.loads(FIXTURES_PATH.read_text())
# Re-parsing the text is the fastest way to get an independent deep copy of a template.
_TEMPLATE_TEXT = {name: json.dumps(obj) for name, obj in _FIXTURES.items()}

ALPHABET = string.ascii_letters + string.digits
DAY = 86_400

Obj = dict[str, Any]


_PART_TEXT: dict[tuple, str] = {}


def template(object_name: str) -> Obj:
    return json.loads(_TEMPLATE_TEXT[object_name])


def template_part(object_name: str, *path: str | int) -> Any:
    """A fresh copy of one nested value of a sample object, e.g. a charge's card details."""
    key = (object_name, *path)
    if key not in _PART_TEXT:
        value: Any = _FIXTURES[object_name]
        for step in path:
            value = value[step]
        _PART_TEXT[key] = json.dumps(value)
    return json.loads(_PART_TEXT[key])


def fixture(object_name: str) -> Obj:
    """The untouched Stripe sample object (for shape checks)."""
    return template(object_name)


@dataclass(frozen=True)
class Place:
    country: str
    currency: str
    city: str
    state: str | None
    postal_code: str
    street: str


PLACES: tuple[Place, ...] = (
    Place("US", "usd", "San Francisco", "CA", "94107", "Market Street"),
    Place("US", "usd", "New York", "NY", "10001", "West 34th Street"),
    Place("US", "usd", "Austin", "TX", "78701", "Congress Avenue"),
    Place("US", "usd", "Seattle", "WA", "98101", "Pine Street"),
    Place("US", "usd", "Chicago", "IL", "60601", "North Michigan Avenue"),
    Place("GB", "gbp", "London", None, "EC1A 1BB", "Baker Street"),
    Place("GB", "gbp", "Manchester", None, "M1 1AE", "Deansgate"),
    Place("DE", "eur", "Berlin", None, "10115", "Invalidenstrasse"),
    Place("FR", "eur", "Paris", None, "75001", "Rue de Rivoli"),
    Place("NL", "eur", "Amsterdam", None, "1012 JS", "Damrak"),
    Place("CA", "cad", "Toronto", "ON", "M5H 2N2", "King Street West"),
    Place("AU", "aud", "Sydney", "NSW", "2000", "George Street"),
    Place("JP", "jpy", "Tokyo", "Tokyo", "100-0005", "Marunouchi"),
)
# Roughly how a US-based SaaS business sees its customers spread.
PLACE_WEIGHTS = (14, 10, 8, 7, 6, 7, 4, 6, 5, 4, 9, 7, 5)

FIRST_NAMES = (
    "Jenny", "Ada", "Omar", "Priya", "Lucas", "Mei", "Kwame", "Sofia", "Hiroshi", "Elena",
    "Mateo", "Amara", "Noah", "Fatima", "Liam", "Yuki", "Isabel", "Arjun", "Chloe", "Tariq",
    "Grace", "Diego", "Hannah", "Ravi", "Zoe", "Felix", "Nadia", "Samuel", "Leila", "Jonas",
)  # fmt: skip
LAST_NAMES = (
    "Rosen", "Lovelace", "Haddad", "Sharma", "Martin", "Chen", "Mensah", "Rossi", "Tanaka",
    "Petrova", "Garcia", "Okafor", "Smith", "Khan", "Murphy", "Sato", "Fernandes", "Patel",
    "Dubois", "Aziz", "Hopper", "Silva", "Schmidt", "Iyer", "Novak", "Weber", "Karimi",
    "Johnson", "Moreau", "Berg",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

BRANDS = (("visa", 55), ("mastercard", 30), ("amex", 10), ("discover", 5))
FAILURES = (
    ("card_declined", "Your card was declined.", "generic_decline"),
    ("insufficient_funds", "Your card has insufficient funds.", "insufficient_funds"),
    ("expired_card", "Your card has expired.", "expired_card"),
    ("incorrect_cvc", "Your card's security code is incorrect.", "incorrect_cvc"),
)
REFUND_REASONS = (None, "requested_by_customer", "duplicate", "fraudulent")

# (product name, lookup stem, unit amount in the minor unit, interval or None for one-time)
CATALOG: tuple[tuple[str, str, int, str | None], ...] = (
    ("Starter plan", "starter_monthly", 900, "month"),
    ("Pro plan", "pro_monthly", 2900, "month"),
    ("Pro plan", "pro_yearly", 29000, "year"),
    ("Team plan", "team_monthly", 9900, "month"),
    ("Onboarding workshop", "workshop", 45000, None),
    ("Extra seats", "seats_monthly", 1200, "month"),
)
PRICE_CURRENCIES = ("usd", "eur", "gbp")
ZERO_DECIMAL = frozenset({"jpy"})


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str
    place: Place
    line1: str


@dataclass(frozen=True)
class Card:
    payment_method: str
    brand: str
    last4: str
    fingerprint: str
    exp_month: int
    exp_year: int
    funding: str
    country: str


class Factory:
    """Builds objects for one account; ids embed an account tag the way Stripe's do."""

    def __init__(self, account: str, livemode: bool, rng: random.Random) -> None:
        self.account = account
        self.livemode = livemode
        self.rng = rng
        digest = hashlib.sha256(account.encode()).digest()
        self._account_tag = "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:10])

    # ---- ids -------------------------------------------------------------------------------

    def random_text(self, length: int, alphabet: str = ALPHABET) -> str:
        return "".join(self.rng.choices(alphabet, k=length))

    def new_id(self, prefix: str, length: int = 24) -> str:
        if length == 24:
            return f"{prefix}3{self.random_text(5)}{self._account_tag}{self.random_text(8)}"
        return prefix + self.random_text(length)

    def resource_id(self, path: str) -> str:
        resource = RESOURCES[path]
        return self.new_id(resource.prefix, resource.id_length)

    # ---- people and cards ----------------------------------------------------------------

    def person(self) -> Person:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        place = rng.choices(PLACES, weights=PLACE_WEIGHTS)[0]
        email = f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}".lower()
        line1 = f"{rng.randint(1, 400)} {place.street}"
        return Person(f"{first} {last}", email, self._phone(place.country), place, line1)

    def _phone(self, country: str) -> str:
        r = self.rng.randint
        # Numbers from ranges set aside for fiction and examples where the country has one.
        formats = {
            "US": lambda: f"+1 415 555 01{r(0, 99):02d}",
            "CA": lambda: f"+1 416 555 01{r(0, 99):02d}",
            "GB": lambda: f"+44 20 7946 0{r(0, 999):03d}",
            "AU": lambda: f"+61 2 5550 {r(0, 9999):04d}",
            "FR": lambda: f"+33 1 99 00 {r(0, 99):02d} {r(0, 99):02d}",
            "DE": lambda: f"+49 30 {r(1000000, 9999999)}",
            "NL": lambda: f"+31 20 {r(1000000, 9999999)}",
            "JP": lambda: f"+81 3 {r(1000, 9999)} {r(1000, 9999)}",
        }
        return formats[country]()

    def card_for(self, owner_id: str | None, country: str) -> Card:
        """The card a customer pays with: derived from the customer id, so it never changes."""
        rng = random.Random(owner_id) if owner_id else self.rng
        brand = rng.choices([b for b, _ in BRANDS], weights=[w for _, w in BRANDS])[0]
        return Card(
            payment_method="pm_1" + "".join(rng.choices(ALPHABET, k=23)),
            brand=brand,
            last4=f"{rng.randint(0, 9999):04d}",
            fingerprint="".join(rng.choices(ALPHABET, k=16)),
            exp_month=rng.randint(1, 12),
            exp_year=rng.randint(2027, 2032),
            funding=rng.choice(("credit", "credit", "debit")),
            country=country,
        )

    @staticmethod
    def address(place: Place, line1: str) -> Obj:
        return {
            "city": place.city,
            "country": place.country,
            "line1": line1,
            "line2": None,
            "postal_code": place.postal_code,
            "state": place.state,
        }

    # ---- customers -----------------------------------------------------------------------

    def customer(self, created: int) -> Obj:
        person = self.person()
        obj = template("customer")
        obj.update(
            address=self.address(person.place, person.line1),
            balance=0,
            created=created,
            currency=person.place.currency,
            default_source=None,
            delinquent=False,
            description=None,
            discount=None,
            email=person.email,
            id=self.resource_id("customers"),
            invoice_prefix=self.random_text(8, "0123456789ABCDEF"),
            livemode=self.livemode,
            metadata={"crm_id": f"crm-{self.rng.randint(10000, 99999)}"},
            name=person.name,
            next_invoice_sequence=self.rng.randint(1, 12),
            phone=person.phone,
            preferred_locales=[self.rng.choice(("en", "en-US", "fr", "de", "ja"))],
            shipping=None,
        )
        if self.rng.random() < 0.3:
            obj["shipping"] = {
                "address": self.address(person.place, person.line1),
                "name": person.name,
                "phone": person.phone,
            }
        return obj

    # ---- prices --------------------------------------------------------------------------

    def price(
        self,
        created: int,
        product: tuple[str, str],
        lookup: str,
        amount: int,
        interval: str | None,
        currency: str,
    ) -> Obj:
        """A price of ``amount`` for ``product`` (id, name); one-time when ``interval`` is None."""
        product_id, product_name = product
        obj = template("price")
        obj.update(
            active=True,
            created=created,
            currency=currency,
            custom_unit_amount=None,
            id=self.resource_id("prices"),
            livemode=self.livemode,
            lookup_key=f"{lookup}_{currency}",
            nickname=product_name if interval is None else f"{product_name} ({interval}ly)",
            product=product_id,
            tax_behavior=self.rng.choice(("exclusive", "unspecified")),
            transform_quantity=None,
            type="one_time" if interval is None else "recurring",
            unit_amount=amount,
            unit_amount_decimal=str(amount),
        )
        if interval is None:
            obj["recurring"] = None
        else:
            obj["recurring"] = {
                "interval": interval,
                "interval_count": 1,
                "meter": None,
                "usage_type": "licensed",
                "trial_period_days": None,
            }
        return obj

    def product_id(self) -> str:
        return self.new_id("prod_", 14)

    # ---- charges -------------------------------------------------------------------------

    def charge_amount(self, currency: str) -> int:
        if currency in ZERO_DECIMAL:
            return self.rng.randint(5, 400) * 100
        return self.rng.randint(5, 400) * 100 - self.rng.choice((0, 0, 1, 5, 51))

    def charge(self, created: int, customer: Obj | None, status: str) -> Obj:
        """A charge in state succeeded, pending or failed (without its balance transaction)."""
        rng = self.rng
        person = self.person()
        if customer is not None:
            place = next((p for p in PLACES if p.city == customer["address"]["city"]), person.place)
            person = Person(
                customer["name"],
                customer["email"],
                customer["phone"],
                place,
                customer["address"]["line1"],
            )
        currency = person.place.currency
        amount = self.charge_amount(currency)
        card = self.card_for(customer["id"] if customer else None, person.place.country)
        charge_id = self.resource_id("charges")
        succeeded = status != "failed"
        obj = template("charge")
        obj.update(
            amount=amount,
            amount_captured=amount if status == "succeeded" else 0,
            amount_refunded=0,
            balance_transaction=None,
            billing_details={
                "address": self.address(person.place, person.line1),
                "email": person.email,
                "name": person.name,
                "phone": person.phone,
                "tax_id": None,
            },
            calculated_statement_descriptor="STRIPE SOURCES",
            captured=status == "succeeded",
            created=created,
            currency=currency,
            customer=customer["id"] if customer else None,
            description=rng.choice(
                (f"Order #{rng.randint(100000, 999999)}", "Subscription update", "Invoice payment")
            ),
            id=charge_id,
            livemode=self.livemode,
            metadata={"order_id": f"ord_{self.random_text(10)}"} if rng.random() < 0.5 else {},
            outcome=self._outcome(succeeded),
            paid=status == "succeeded",
            payment_intent=self.new_id("pi_"),
            payment_method=card.payment_method,
            payment_method_details=self._card_details(card, amount, succeeded),
            receipt_email=person.email if succeeded else None,
            receipt_url=(
                "https://pay.stripe.com/receipts/payment/" + self.random_text(60)
                if succeeded
                else None
            ),
            refunds={
                "data": [],
                "has_more": False,
                "object": "list",
                "url": f"/v1/charges/{charge_id}/refunds",
            },
            shipping=None,
            source=None,
            status=status,
            transfer_data=None,
        )
        if not succeeded:
            code, message, reason = rng.choice(FAILURES)
            obj.update(failure_code=code, failure_message=message)
            obj["outcome"]["reason"] = reason
        return obj

    @staticmethod
    def _outcome(succeeded: bool) -> Obj:
        return {
            "advice_code": None if succeeded else "try_again_later",
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": None,
            "seller_message": (
                "Payment complete."
                if succeeded
                else "The bank did not return any further details with this decline."
            ),
            "type": "authorized" if succeeded else "issuer_declined",
        }

    @staticmethod
    def _card_details(card: Card, amount: int, succeeded: bool) -> Obj:
        details = template_part("charge", "payment_method_details")
        c = details["card"]
        c.update(
            amount_authorized=amount if succeeded else None,
            brand=card.brand,
            country=card.country,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            funding=card.funding,
            installments=None,
            last4=card.last4,
            network=card.brand,
            wallet=None,
        )
        c["checks"] = {
            "address_line1_check": "pass",
            "address_postal_code_check": "pass",
            "cvc_check": "pass" if succeeded else "unchecked",
        }
        c["overcapture"]["maximum_amount_capturable"] = amount
        return details

    # ---- balance transactions ------------------------------------------------------------

    def fee(self, amount: int, currency: str) -> int:
        if currency in ZERO_DECIMAL:
            return round(amount * 0.036)
        return round(amount * 0.029) + 30

    def charge_transaction(self, charge: Obj, now: int) -> Obj:
        amount, currency = charge["amount"], charge["currency"]
        fee = self.fee(amount, currency)
        obj = self._transaction(charge["created"], amount, currency, fee, now)
        obj.update(
            description=charge["description"],
            reporting_category="charge",
            source=charge["id"],
            type="charge",
        )
        charge["balance_transaction"] = obj["id"]
        return obj

    def refund_transaction(self, refund: Obj, description: str | None, now: int) -> Obj:
        obj = self._transaction(refund["created"], -refund["amount"], refund["currency"], 0, now)
        obj.update(
            description=description,
            reporting_category="refund",
            source=refund["id"],
            type="refund",
        )
        refund["balance_transaction"] = obj["id"]
        return obj

    def _transaction(self, created: int, amount: int, currency: str, fee: int, now: int) -> Obj:
        # Funds become available two days later, at midnight UTC.
        available_on = (created // DAY + 2) * DAY
        obj = template("balance_transaction")
        obj.update(
            amount=amount,
            available_on=available_on,
            created=created,
            currency=currency,
            exchange_rate=None,
            fee=fee,
            fee_details=(
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": currency,
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),
            id=self.resource_id("balance_transactions"),
            net=amount - fee,
            status="available" if available_on <= now else "pending",
        )
        return obj

    # ---- refunds -------------------------------------------------------------------------

    def refund(self, charge: Obj, created: int, amount: int) -> Obj:
        """A refund of ``amount`` on ``charge``; updates the charge's refund fields like Stripe."""
        obj = template("refund")
        obj.update(
            amount=amount,
            charge=charge["id"],
            created=created,
            currency=charge["currency"],
            destination_details={"card": {"type": "refund"}, "type": "card"},
            id=self.resource_id("refunds"),
            metadata={},
            payment_intent=charge["payment_intent"],
            reason=self.rng.choice(REFUND_REASONS),
            status=self.rng.choices(("succeeded", "pending", "failed"), weights=(92, 6, 2))[0],
            customer=charge["customer"],
            payment_method=charge["payment_method"],
        )
        if obj["status"] != "failed":
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, obj)
        return obj

    def refund_amount(self, charge: Obj) -> int:
        remaining = charge["amount"] - charge["amount_refunded"]
        if self.rng.random() < 0.6 or remaining < 200:
            return remaining
        return self.rng.randint(100, remaining - 100)

    # ---- subscriptions -------------------------------------------------------------------

    def subscription(self, created: int, customer: Obj, price: Obj, status: str, now: int) -> Obj:
        rng = self.rng
        sub_id = self.resource_id("subscriptions")
        period = (365 if price["recurring"]["interval"] == "year" else 30) * DAY
        end_of_life = now
        canceled_at = None
        if status == "canceled":
            canceled_at = rng.randint(created + 1, max(created + 1, now - 1))
            end_of_life = canceled_at
        periods_done = max(0, (end_of_life - created) // period)
        period_start = created + periods_done * period
        trialing = status == "trialing"
        obj = template("subscription")
        obj.update(
            automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
            billing_cycle_anchor=created,
            billing_cycle_anchor_config=None,
            cancel_at=None,
            canceled_at=canceled_at,
            cancellation_details={
                "comment": None,
                "feedback": rng.choice((None, "too_expensive", "switched_service", "unused")),
                "reason": "cancellation_requested",
            }
            if canceled_at
            else {"comment": None, "feedback": None, "reason": None},
            collection_method=rng.choice(("charge_automatically",) * 4 + ("send_invoice",)),
            created=created,
            currency=price["currency"],
            customer=customer["id"],
            default_payment_method=self.card_for(customer["id"], "US").payment_method,
            ended_at=canceled_at,
            id=sub_id,
            items={
                "data": [self._subscription_item(sub_id, created, price, period_start, period)],
                "has_more": False,
                "object": "list",
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            latest_invoice=None if trialing else self.new_id("in_"),
            livemode=self.livemode,
            metadata={},
            next_pending_invoice_item_invoice=None,
            pause_collection=None,
            payment_settings={
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            pending_invoice_item_interval=None,
            pending_update=None,
            start_date=created,
            status=status,
            transfer_data=None,
            trial_end=created + 14 * DAY if trialing else None,
            trial_start=created if trialing else None,
            cancel_at_period_end=status == "active" and rng.random() < 0.05,
            billing_thresholds=None,
            managed_payments={"enabled": False},
            billing_schedules=[],
        )
        if obj["collection_method"] == "send_invoice":
            obj["days_until_due"] = 30
        return obj

    def _subscription_item(self, sub_id: str, created: int, price: Obj, start: int, period: int):
        item = template_part("subscription", "items", "data", 0)
        item.update(
            created=created,
            id=self.new_id("si_", 14),
            price=price,
            subscription=sub_id,
            plan=self._plan(price),
            current_period_start=start,
            current_period_end=start + period,
            billing_thresholds=None,
        )
        return item

    @staticmethod
    def _plan(price: Obj) -> Obj:
        plan = template_part("subscription", "items", "data", 0, "plan")
        plan.update(
            active=price["active"],
            amount=price["unit_amount"],
            amount_decimal=price["unit_amount_decimal"],
            billing_scheme="per_unit",
            created=price["created"],
            currency=price["currency"],
            id=price["id"],
            interval=price["recurring"]["interval"],
            interval_count=price["recurring"]["interval_count"],
            livemode=price["livemode"],
            metadata={},
            nickname=price["nickname"],
            product=price["product"],
            transform_usage=None,
        )
        return plan
