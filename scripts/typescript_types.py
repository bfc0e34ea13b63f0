"""Generates the TypeScript client's types and operation table from the service's OpenAPI
document: clients/typescript/src/schema.ts.
`make client-types` runs it (Python only); tests/test_typescript_client.py checks the files
match the document."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "clients" / "typescript" / "src"
HEADER = "// Generated from the service's OpenAPI document by `make client-types`. Do not edit.\n"
IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _key(name: str) -> str:
    return name if IDENTIFIER.match(name) else json.dumps(name)


def _ref(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def ts_type(schema: dict[str, Any], indent: str = "") -> str:
    """The TypeScript type of one JSON schema (OpenAPI 3.1's dialect, as FastAPI writes it)."""
    if not schema:
        return "unknown"
    if "$ref" in schema:
        return _ref(schema["$ref"])
    if "oneOf" in schema and "properties" in schema:
        return _union(_branch(schema, option, indent) for option in schema["oneOf"])
    for combined in ("anyOf", "oneOf"):
        if combined in schema:
            return _union(ts_type(option, indent) for option in schema[combined])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return _union(json.dumps(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union(ts_type({**schema, "type": one}, indent) for one in kind)
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        return f"Array<{ts_type(schema.get('items', {}), indent)}>"
    return _object(schema, indent)


def _branch(schema: dict[str, Any], option: dict[str, Any], indent: str) -> str:
    """One branch of an object whose `oneOf` only constrains its properties (which are
    required, which may not be there: `false`): the object as that branch allows it."""
    banned = {name for name, rule in option.get("properties", {}).items() if rule is False}
    properties = {k: v for k, v in schema["properties"].items() if k not in banned}
    required = [*schema.get("required", []), *option.get("required", [])]
    rest = {k: v for k, v in schema.items() if k not in ("oneOf", "properties", "required")}
    return _object({**rest, "properties": properties, "required": required}, indent)


def _union(parts) -> str:
    unique = list(dict.fromkeys(parts))
    return unique[0] if len(unique) == 1 else " | ".join(unique)


def _object(schema: dict[str, Any], indent: str) -> str:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    patterns = list(schema.get("patternProperties", {}).values())
    if not properties:
        if isinstance(extra, dict) and extra:
            return f"Record<string, {ts_type(extra, indent)}>"
        if patterns:
            return f"Record<string, {_union(ts_type(p, indent) for p in patterns)}>"
        return "Record<string, unknown>"
    required = set(schema.get("required", []))
    inner = indent + "  "
    lines = [
        f"{inner}{_key(name)}{'' if name in required else '?'}: {ts_type(prop, inner)};"
        for name, prop in properties.items()
    ]
    return "{\n" + "\n".join(lines) + f"\n{indent}}}"


def _success(operation: dict[str, Any]) -> tuple[str, str]:
    """(status, TypeScript type) of the operation's success answer."""
    for status, answer in sorted(operation.get("responses", {}).items()):
        if status.startswith("2"):
            content = answer.get("content", {})
            if "application/json" in content:
                return status, ts_type(content["application/json"].get("schema", {}), "    ")
            return status, "string" if content else "void"
    return "200", "void"


def _params(operation: dict[str, Any], where: str) -> str:
    params = [p for p in operation.get("parameters", []) if p["in"] == where]
    if not params:
        return "Record<string, never>"
    lines = [
        f"      {_key(p['name'])}{'' if p.get('required') else '?'}: {ts_type(p['schema'])};"
        for p in params
    ]
    return "{\n" + "\n".join(lines) + "\n    }"


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    found = [
        (op["operationId"], method.upper(), path, op)
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    ]
    return sorted(found)


def schema_ts(doc: dict[str, Any]) -> str:
    out = [HEADER]
    for name, schema in doc["components"]["schemas"].items():
        body = ts_type(schema)
        if body.startswith("{") and body.endswith("}") and "\n} | {" not in body:
            out.append(f"export interface {name} {body}\n")
        else:
            out.append(f"export type {name} = {body};\n")
    out.append("/** Every operation, by its operationId: what it takes and what it answers. */")
    out.append("export interface Operations {")
    for operation_id, method, path, op in _operations(doc):
        status, response = _success(op)
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        keyed = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        out.append(f"  {operation_id}: {{")
        out.append(f'    method: "{method}";')
        out.append(f'    path: "{path}";')
        out.append(f"    pathParams: {_params(op, 'path')};")
        out.append(f"    query: {_params(op, 'query')};")
        out.append(f"    body: {ts_type(body['schema'], '    ') if body else 'undefined'};")
        out.append(f"    response: {response};")
        out.append(f"    status: {status};")
        out.append(f"    idempotencyKey: {'true' if keyed else 'false'};")
        out.append("  };")
    out.append("}\n")
    out.append("export type OperationId = keyof Operations;\n")
    return "\n".join(out)


def operations_table(doc: dict[str, Any]) -> str:
    lines = ["/** Method, path and whether it takes an Idempotency-Key, by operationId. */"]
    lines.append("export const operations = {")
    for operation_id, method, path, op in _operations(doc):
        keyed = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        lines.append(
            f'  {operation_id}: {{ method: "{method}", path: "{path}", '
            f"idempotencyKey: {'true' if keyed else 'false'} }},"
        )
    lines.append("} as const;\n")
    return "\n".join(lines)


def generated(doc: dict[str, Any]) -> dict[str, str]:
    """File name (in clients/typescript/src) -> its text."""
    return {"schema.ts": schema_ts(doc) + "\n" + operations_table(doc)}


def service_document() -> dict[str, Any]:
    """The document of the app as configured for the tests (it does not depend on settings)."""
    from app.http.app import create_app
    from app.kit.clock import FrozenClock
    from app.storage.database import connect
    from tests.support.settings import START, make_settings

    app = create_app(make_settings(), db=connect(None, "openapi"), clock=FrozenClock(START))
    return app.openapi()


def main() -> None:
    for name, text in generated(service_document()).items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
