"""talk connector for Custom CRM, Custom Webshop and Custom PMS."""

from __future__ import annotations
