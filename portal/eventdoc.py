"""The event catalog as Markdown, for the docs (the same content as ``/asyncapi``):
``python -m portal.eventdoc --write docs/PORTAL.md`` refreshes the section between the
``asyncapi`` markers; a test checks that it is up to date."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shared.events.catalog import CATALOG, source_of

START, END = "<!-- asyncapi:start -->", "<!-- asyncapi:end -->"


def field_type(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " \\| ".join(field_type(p) for p in prop["anyOf"])
    if prop.get("enum"):
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type") or (prop.get("$ref", "").rsplit("/", 1)[-1]) or "any"
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"{field_type(prop['items'])}[]"
    if prop.get("format"):
        return f"{kind} ({prop['format']})"
    return str(kind)


def markdown(subject_prefix: str = "custody") -> str:
    lines = [
        START,
        "",
        "Generated from `shared/events/catalog.py` (also served as `/asyncapi.json`, AsyncAPI 3.0, and `/asyncapi`). "
        f"Every event is a CloudEvents 1.0 envelope on subject `{subject_prefix}.<type>`; `data` carries at least:",
        "",
        "| type | source | data (required in **bold**) |",
        "|---|---|---|",
    ]
    for event_type, model in sorted(CATALOG.items()):
        schema = model.model_json_schema()
        required = set(schema.get("required") or [])
        fields = ", ".join(
            (f"**{name}**" if name in required else name) + f": {field_type(prop)}"
            for name, prop in (schema.get("properties") or {}).items()
        )
        lines.append(f"| `{event_type}` | `{source_of(event_type)}` | {fields} |")
    lines += ["", END]
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        return head + section + tail
    return text.rstrip("\n") + "\n\n## Events (AsyncAPI)\n\n" + section + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="Markdown file whose asyncapi section to refresh")
    args = parser.parse_args(argv)
    section = markdown()
    if args.write:
        args.write.write_text(replace_section(args.write.read_text(encoding="utf-8"), section), encoding="utf-8")
    else:
        sys.stdout.write(section + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
