"""Model prices from genai-prices (a maintained, versioned price database), or the user's own.

We read the snapshot bundled with the pinned package: no network at run time, and a price changes
when the package is bumped. A model the database does not know gets no price (cost "unknown"),
never $0. Self-hosted models are priced only by the user's override, never by a guess from a hosted
provider that happens to serve a model of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices import data_snapshot
from genai_prices.types import ModelPrice, TieredPrices

from core.providers.base import Price

DATABASE = f"genai-prices {GENAI_PRICES_VERSION}"


@dataclass(frozen=True)
class PriceQuote:
    price: Price | None
    source: str  # where the price comes from, or why there is none, in words for the page


def lookup_price(
    model: str,
    *,
    provider_id: str | None = None,
    api_url: str | None = None,
    override: Price | None = None,
) -> PriceQuote:
    """The price of `model`: the user's override, else the database entry for that provider.

    `provider_id` names a genai-prices provider ("openai", "anthropic"); `api_url` is a custom
    endpoint, matched against the hosted providers the database knows (DeepSeek, Together...).
    """
    if override is not None:
        return PriceQuote(override, "your price")
    if provider_id is None and api_url is None:
        return PriceQuote(None, "unknown: set a price for this model")
    try:
        provider, info = data_snapshot.get_snapshot().find_provider_model(
            model, None, provider_id, api_url
        )
    except LookupError:
        where = provider_id or "this server"
        return PriceQuote(None, f"unknown: {DATABASE} has no price for {model!r} on {where}")
    price = _to_price(info.get_prices(datetime.now(tz=UTC)))
    if price is None:
        return PriceQuote(None, f"unknown: {DATABASE} lists {info.id} without token prices")
    return PriceQuote(price, f"{DATABASE}: {provider.name} {info.id}")


def _rate(value: Decimal | TieredPrices | None) -> float | None:
    # Tiers start at prompts of ~200K tokens (long-context surcharges); Deliberate's prompts are a
    # problem and a few steps, so the base rate is the one that applies.
    if isinstance(value, TieredPrices):
        value = value.base
    return None if value is None else float(value)


def _to_price(prices: ModelPrice) -> Price | None:
    input_rate, output_rate = _rate(prices.input_mtok), _rate(prices.output_mtok)
    if input_rate is None or output_rate is None:
        return None
    return Price(input_rate, output_rate, _rate(prices.cache_read_mtok))


def parse_price(text: str) -> Price:
    """A price typed as "input, output[, cached input]" dollars per million tokens."""
    try:
        rates = [float(part) for part in text.replace("$", "").split(",")]
    except ValueError:
        rates = []
    if len(rates) not in (2, 3) or any(rate < 0 for rate in rates):
        raise ValueError(
            f"a price is 'input, output' or 'input, output, cached input' dollars per million "
            f"tokens, e.g. '0.15, 0.60'; got {text!r}"
        )
    return Price(*rates)
