"""User-facing text in zh-CN first, English available (``Accept-Language: en``)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

DEFAULT_LANGUAGE = "zh-CN"
current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def render(self, language: str | None = None) -> str:
        return self.en if (language or current_language.get()).startswith("en") else self.zh

    def format(self, **params: object) -> Text:
        return Text(self.zh.format(**params), self.en.format(**params))

    def __str__(self) -> str:
        return self.render()


def text(zh: str, en: str) -> Text:
    return Text(zh, en)


def negotiate(accept_language: str | None) -> str:
    """Pick zh-CN or en from an Accept-Language header; zh-CN unless English is preferred."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.split("=", 1)[1]) if params.strip().startswith("q=") else 1.0
        except (IndexError, ValueError):
            q = 0.0
        tag = tag.strip().lower()
        if tag.startswith("zh") and q > best_q:
            best, best_q = "zh-CN", q
        elif tag.startswith("en") and q > best_q:
            best, best_q = "en", q
    return best


def render(value: Text | str | None, language: str | None = None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.render(language)
