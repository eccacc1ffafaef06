"""腾讯问卷 Tencent Wenjuan: polled through its OpenAPI, with webhooks as a hint (platform.py)."""
