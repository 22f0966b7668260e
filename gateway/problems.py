"""The problem+json responses the gateway's own API documents (RFC 9457, shared.errors)."""

from __future__ import annotations

from typing import Any

PROBLEM = {
    "application/problem+json": {
        "schema": {
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": PROBLEM}
    for status, description in (
        (400, "请求无效 / bad request"),
        (401, "未认证 / not authenticated"),
        (403, "无权操作 / forbidden"),
        (404, "账号不存在 / no such account"),
        (409, "冲突（用户名已占用、组织已存在、邀请码无效） / conflict"),
        (412, "版本不匹配 / If-Match mismatch"),
        (413, "请求体过大 / body too large"),
        (415, "须为 JSON / JSON only"),
        (422, "校验失败 / validation failed"),
        (429, "请求过于频繁 / rate limited"),
        (503, "暂不可用 / unavailable"),
    )
}
