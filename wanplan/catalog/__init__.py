"""The model catalog: model ids, capabilities and prices, read from a data file."""

from wanplan.catalog.model import Catalog, ModelEntry, PriceEntry, load_catalog

__all__ = ["Catalog", "ModelEntry", "PriceEntry", "load_catalog"]
