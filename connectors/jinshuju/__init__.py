"""金数据 Jinshuju: a form polled through the v1 API, its 数据推送 taken as a hint (docs/platforms/jinshuju.md)."""
