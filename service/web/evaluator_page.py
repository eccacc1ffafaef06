"""The page an evaluator's browser gets from a hook (docs/platforms/wenjuanxing.md).

问卷星's redirect push (答卷提交后跳转推送) sends the evaluator's own browser to the source's hook
after it submits, so the receiver's answer is what the evaluator sees: a short page in Chinese
saying whether the answer is in, instead of JSON meant for a platform's server.
"""

from __future__ import annotations


def from_a_browser(environ: dict) -> bool:
    """Whether the request is an evaluator's browser rather than a platform's server: a
    redirect push (问卷星's 答卷提交后跳转推送) sends the browser itself here after it submits,
    and browsers ask for HTML first; platforms' servers ask for JSON or for anything."""
    accept = environ.get("HTTP_ACCEPT", "")
    return accept.lstrip().startswith("text/html")


# What the evaluator sees after a redirect push, by outcome: whether the answer is in, never why
# not (the reason is in the JSON answer, the log and the inbox for staff). Self-contained: no
# script, no asset, nothing fetched.
_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em;
line-height:1.7;color:#222}}h1{{font-size:1.4em;color:{colour}}}</style></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""
_RECEIVED = ("评议已提交", "您的评议意见已收到，感谢您的参与。此页面可以关闭。", "#1a7f37")
_NOT_RECEIVED = (
    "提交未能确认",
    "您的评议意见未能确认收到。请稍后重新打开评议链接提交，或与组织评议的工作人员联系。",
    "#b42318",
)


def browser_page(status: int) -> bytes:
    """The page for a browser: received (202 stored, 200 already there) or not."""
    title, text, colour = _RECEIVED if status in (200, 202) else _NOT_RECEIVED
    return _PAGE.format(title=title, text=text, colour=colour).encode("utf-8")
