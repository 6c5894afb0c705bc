"""Catalogue-gateway connector for the Hexi Water Bureau open-data API."""

from hexi_water_connector.connector import WaterPortalConnector, WaterPortalOptions

__all__ = ["WaterPortalConnector", "WaterPortalOptions"]
