"""A local fake of the WeChat and WeCom server APIs, for tests and local development; never imported by the app."""
from fakewechat.app import create_app
from fakewechat.state import DEFAULT_TEMPLATES, DEFAULT_WEBHOOK_KEYS, valid_template_value

__all__ = ["DEFAULT_TEMPLATES", "DEFAULT_WEBHOOK_KEYS", "create_app", "valid_template_value"]
