"""The declarative REST connector's options: a YAML mapping checked against a JSON Schema.

``RestOptions`` is what a ``connector: rest`` source's ``options`` become. Its validator
loads the mapping file (``options: {mapping: hexi.yaml}``) if one is named, checks the
whole document against ``connectors/rest_schema.json`` (which editors can also use to
complete and check mapping files) and then what a schema cannot say (placeholders,
selectors, what the pagination type needs). Every problem is reported at once, each at
its key path, so ``catalogue-gateway check-config`` lists them all::

    sources[2].options.search.records: required key is missing
    sources[2].options.search.params.pageNo: unknown placeholder {pag}; known: ...
    sources[2].options.fields.update_frequency.map.每两月: must be one of: CONT, ...
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from connectors.sdk import FilterName, Sort
from connectors.sdk._selector import Selector

Scalar = str | int | float | bool
KeyPath = tuple[str | int, ...]

SEARCH_PLACEHOLDERS = ("text", "offset", "limit", "page", "cursor")
GET_PLACEHOLDERS = ("id",)
LANDING_PAGE_PLACEHOLDERS = ("base", "id")
CLASS_FIELDS: Mapping[FilterName, str] = {
    FilterName.SHARE_TYPES: "share_type",
    FilterName.OPEN_TYPES: "open_type",
    FilterName.MAX_SENSITIVITY: "sensitivity",
    FilterName.GRADES: "grade",
}
SECRET_KEYS = frozenset({"value", "token", "password", "client_secret"})
_AUTH_KEYS: Mapping[str, frozenset[str]] = {
    "api_key": frozenset({"type", "name", "in", "value"}),
    "bearer": frozenset({"type", "token"}),
    "basic": frozenset({"type", "username", "password"}),
    "oauth2_client_credentials": frozenset(
        {"type", "token_url", "client_id", "client_secret", "scope", "client_auth"}
    ),
}
_PAGING_NEEDS: Mapping[str, tuple[str, ...]] = {
    "offset": ("offset", "limit"),
    "page": ("page", "limit"),
    "cursor": ("cursor",),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvelopeOptions(_Frozen):
    code: str
    ok: tuple[Scalar, ...]
    message: str | None = None
    not_found: tuple[Scalar, ...] = ()


class BadQueryOptions(_Frozen):
    """Answers by which the platform refuses the caller's query as invalid: the ``search``
    or ``get`` endpoint's HTTP ``statuses`` and envelope ``codes`` that raise
    ``QueryRejected`` (the caller's error, never counted against the source)."""

    statuses: tuple[int, ...] = (400, 422)
    codes: tuple[Scalar, ...] = ()


class EndpointOptions(_Frozen):
    path: str
    params: dict[str, Scalar] = Field(default_factory=dict)


class SearchOptions(EndpointOptions):
    records: str
    total: str | None = None


class GetOptions(EndpointOptions):
    record: str


class DepartmentsOptions(EndpointOptions):
    records: str
    id: str
    name: str


class PaginationOptions(_Frozen):
    type: Literal["offset", "page", "cursor", "next_url", "link_header", "none"] = "offset"
    max_page_size: int = 100
    first_page: int = 1
    next: str | None = None


class FilterOptions(_Frozen):
    param: str
    multiple: Literal["single", "join", "repeat"] = "single"
    separator: str = ","
    exact: bool = True
    exclude: bool = False
    values: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    format: str | None = None
    timezone: str | None = None


class FieldOptions(_Frozen):
    selector: str | None = None
    default: Scalar | None = None
    map: dict[str, str] | None = None
    fallback: str | None = None
    split: str | None = None
    item: str | dict[str, str] | None = None
    format: str | None = None
    timezone: str | None = None
    unit: Literal["s", "ms"] | None = None
    template: str | None = None


class AuthOptions(_Frozen):
    """Credentials; secrets are ``SecretStr`` (hidden in every repr and dump)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["api_key", "bearer", "basic", "oauth2_client_credentials"]
    name: str | None = None
    in_: Literal["header", "query"] = Field("header", alias="in")
    value: SecretStr | None = None
    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    client_auth: Literal["basic", "body"] = "basic"


class RestOptions(_Frozen):
    """``options`` of a ``connector: rest`` source (see ``connectors/rest_schema.json``).

    Inline::

        options:
          search: {path: /api/v1/resources, records: data.list, total: data.total,
                   params: {keyword: "{text}", pageNo: "{page}", pageSize: "{limit}"}}
          pagination: {type: page, first_page: 1, max_page_size: 100}
          fields: {local_id: resourceId, title: resourceName}
          auth: {type: api_key, name: AppKey, value: "${HEXI_APP_KEY}"}

    or from a file, with the credentials beside it in the gateway config::

        options: {mapping: hexi-catalogue.yaml, auth: {type: bearer, token: "${TOKEN}"}}

    A relative ``mapping`` path is taken from ``base_dir`` in the validation context
    (the gateway config's folder) when given, else from the working directory.
    """

    mapping: str | None = None
    envelope: EnvelopeOptions | None = None
    bad_query: BadQueryOptions = Field(default_factory=BadQueryOptions)
    headers: dict[str, str] = Field(default_factory=dict)
    search: SearchOptions
    get: GetOptions | None = None
    departments: DepartmentsOptions | None = None
    check: EndpointOptions | None = None
    pagination: PaginationOptions = Field(default_factory=PaginationOptions)
    filters: dict[FilterName, FilterOptions] = Field(default_factory=dict)
    sorts: dict[Sort, dict[str, Scalar]] = Field(default_factory=dict)
    fields: dict[str, FieldOptions]
    auth: AuthOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _check_document(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, RestOptions) or not isinstance(data, Mapping):
            return data
        base_dir = info.context.get("base_dir") if info.context else None
        document, problems = load_document(data, base_dir)
        if not problems:
            problems = _merge(schema_problems(document), semantic_problems(document))
        if problems:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("rest_mapping", "{problem}", {"problem": text}),
                        loc=path,
                        input=None,  # never echo the document: it may hold secrets
                    )
                    for path, text in problems
                ],
            )
        return _expand_shorthands(document)


# -- loading ------------------------------------------------------------------------------

Problems = list[tuple[KeyPath, str]]


def load_document(
    options: Mapping[str, Any], base_dir: Any = None
) -> tuple[dict[str, Any], Problems]:
    """The options with the ``mapping`` file merged under them (inline keys win)."""
    document = _string_keys(dict(options))
    reference = document.get("mapping")
    if reference is None:
        return document, []
    if not isinstance(reference, str) or not reference.strip():
        return document, [(("mapping",), "must be the path of a YAML file")]
    path = Path(reference).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return document, [(("mapping",), f"cannot read {path}: {exc.strerror or exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        return document, [(("mapping",), f"{path}: {where}{problem}")]
    if not isinstance(loaded, dict):
        return document, [(("mapping",), f"{path} must hold a YAML mapping")]
    loaded = _string_keys(loaded)
    if "mapping" in loaded:
        return document, [(("mapping",), f"{path} names another mapping file; nest none")]
    return {**loaded, **document}, []


def _merge(*groups: Problems) -> Problems:
    unique = dict.fromkeys(problem for group in groups for problem in group)
    return sorted(unique, key=lambda problem: [str(part) for part in problem[0]])


def _string_keys(node: Any) -> Any:
    """YAML reads ``1: UNCONDITIONAL`` with an int key; JSON (and the schema) want text."""
    if isinstance(node, dict):
        return {
            ("true" if k is True else "false" if k is False else str(k)): _string_keys(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


def _expand_shorthands(document: dict[str, Any]) -> dict[str, Any]:
    fields = {
        name: {"selector": spec} if isinstance(spec, str) else spec
        for name, spec in document.get("fields", {}).items()
    }
    return {**document, "fields": fields}


# -- the JSON Schema ----------------------------------------------------------------------


@functools.cache
def rest_schema() -> dict[str, Any]:
    """The JSON Schema of a REST mapping (``connectors/rest_schema.json``)."""
    text = importlib.resources.files("connectors").joinpath("rest_schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(rest_schema())


def schema_problems(document: Any) -> Problems:
    """Every schema violation in ``document``, as (key path, message), in document order."""
    problems: Problems = []
    for error in _validator().iter_errors(document):
        problems += _explain(error)
    return _merge(problems)


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _explain(error: jsonschema.ValidationError) -> Problems:
    path: KeyPath = tuple(error.absolute_path)
    secret = bool(path) and path[0] == "auth" and path[-1] in SECRET_KEYS
    kind = error.validator
    instance: Any = error.instance
    expected: Any = error.validator_value
    schema: Any = error.schema
    if kind == "required" and isinstance(instance, dict):
        return [
            (path + (name,), "required key is missing") for name in expected if name not in instance
        ]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        return [(path + (key,), "unknown key") for key in instance if key not in known]
    if kind in ("anyOf", "oneOf") and error.context:
        return _explain_alternatives(error)
    if kind == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return [(path, "must be " + " or ".join(_TYPE_NAMES.get(n, n) for n in names))]
    if kind == "enum":
        got = "" if secret else f" (not {instance!r})"
        return [(path, "must be one of: " + ", ".join(map(str, expected)) + got)]
    if kind == "minLength" and expected == 1:
        return [(path, "cannot be empty")]
    if kind == "minItems":
        return [(path, f"needs at least {expected} item(s)")]
    if kind == "minProperties":
        return [(path, "cannot be empty")]
    if kind in ("minimum", "maximum"):
        sign = ">=" if kind == "minimum" else "<="
        return [(path, f"must be {sign} {expected}")]
    if kind == "pattern" and path and path[-1] == "timezone":
        return [(path, "must be a UTC offset such as +08:00, or Z")]
    if secret:
        return [(path, "invalid value (hidden: it is a secret)")]
    return [(path, error.message[:200])]


def _explain_alternatives(error: jsonschema.ValidationError) -> Problems:
    """For "a selector or an object" fields: the errors of the branch the value meant."""
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    meant = [
        errors
        for errors in branches.values()
        if not any(e.validator == "type" and e.absolute_path == error.absolute_path for e in errors)
    ]
    if len(meant) == 1:
        return [problem for sub in meant[0] for problem in _explain(sub)]
    return [(tuple(error.absolute_path), "must be a selector (text) or a mapping of its options")]


# -- what a schema cannot check -----------------------------------------------------------


def semantic_problems(document: Mapping[str, Any]) -> Problems:
    """Placeholders, selectors, paging needs, filter spellings, auth keys per type.

    Runs on documents that failed the schema too (parts of the wrong shape are skipped),
    so one run reports every problem.
    """
    problems: Problems = []
    search = _dict(document.get("search"))
    search_fields = _check_endpoint(search, ("search",), SEARCH_PLACEHOLDERS, problems)
    for key in ("records", "total"):
        _check_selector(search.get(key), ("search", key), problems)

    paging = _dict(document.get("pagination")) or {"type": "offset"}
    kind = paging.get("type")
    if search:
        for needed in _PAGING_NEEDS.get(kind, ()) if isinstance(kind, str) else ():
            if needed not in search_fields:
                problems.append(
                    (("search", "params"), f"pagination type {kind!r} needs a {{{needed}}}")
                )
    _check_selector(paging.get("next"), ("pagination", "next"), problems)
    if paging.get("next") is not None and kind not in ("cursor", "next_url"):
        problems.append((("pagination", "next"), f"only cursor and next_url use it, not {kind!r}"))

    if "get" in document:
        get = _dict(document["get"])
        used = _check_endpoint(get, ("get",), GET_PLACEHOLDERS, problems, in_path=("id",))
        if get and "id" not in used:
            problems.append((("get", "path"), "needs {id} (in the path or a parameter)"))
        _check_selector(get.get("record"), ("get", "record"), problems)
    if "departments" in document:
        departments = _dict(document["departments"])
        _check_endpoint(departments, ("departments",), (), problems)
        for key in ("records", "id", "name"):
            _check_selector(departments.get(key), ("departments", key), problems)
    if "check" in document:
        _check_endpoint(_dict(document["check"]), ("check",), (), problems)
    envelope = _dict(document.get("envelope"))
    for key in ("code", "message"):
        _check_selector(envelope.get(key), ("envelope", key), problems)
    bad_query = _dict(document.get("bad_query"))
    if bad_query.get("codes") and not envelope:
        problems.append((("bad_query", "codes"), "needs an envelope (whose code they are)"))
    for index, status in enumerate(bad_query.get("statuses") or ()):
        if status in (401, 403, 407):
            problems.append(
                (
                    ("bad_query", "statuses", index),
                    f"{status} says the credentials are wrong, not the query",
                )
            )
    for sort, params in _dict(document.get("sorts")).items():
        for name, value in _dict(params).items():
            _check_template(value, ("sorts", sort, name), (), problems)

    fields = _dict(document.get("fields"))
    for name, spec in fields.items():
        _check_field(name, spec, problems)
    for name, spec in _dict(document.get("filters")).items():
        class_field = CLASS_FIELDS.get(FilterName(name)) if name in _FILTER_NAMES else None
        if class_field is None or not isinstance(spec, dict) or spec.get("values"):
            continue
        field_spec = fields.get(class_field)
        if not (isinstance(field_spec, dict) and field_spec.get("map")):
            problems.append(
                (
                    ("filters", name, "values"),
                    f"required: the platform's spelling of each class (or a map on "
                    f"fields.{class_field})",
                )
            )
    auth = _dict(document.get("auth"))
    auth_type = auth.get("type")
    allowed = _AUTH_KEYS.get(auth_type) if isinstance(auth_type, str) else None
    if allowed is not None:
        problems += [
            (("auth", key), f"not used with auth type {auth_type}")
            for key in auth
            if key not in allowed and key in _ALL_AUTH_KEYS
        ]
    return problems


_FILTER_NAMES = frozenset(f.value for f in FilterName if f is not FilterName.DATASET_IDS)
_ALL_AUTH_KEYS = frozenset().union(*_AUTH_KEYS.values()) | {"in"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _check_endpoint(
    spec: Mapping[str, Any],
    path: KeyPath,
    known: tuple[str, ...],
    problems: Problems,
    *,
    in_path: tuple[str, ...] = (),
) -> set[str]:
    """Check an endpoint's path and parameter templates; the placeholders they use."""
    used = set(_check_template(spec.get("path"), path + ("path",), in_path, problems))
    for name, value in _dict(spec.get("params")).items():
        used |= set(_check_template(value, path + ("params", name), known, problems))
    return used


def _check_template(
    value: Any, path: KeyPath, known: Iterable[str], problems: Problems
) -> list[str]:
    if not isinstance(value, str):
        return []
    try:
        names = template_fields(value)
    except ValueError as exc:
        problems.append((path, str(exc)))
        return []
    known = tuple(known)
    for name in names:
        if name not in known:
            hint = f"known: {', '.join('{' + k + '}' for k in known)}" if known else "none here"
            problems.append((path, f"unknown placeholder {{{name}}}; {hint}"))
    return names


def template_fields(text: str) -> list[str]:
    """The placeholders of a template (``"{text}"`` -> ``["text"]``); raises ``ValueError``."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"bad template {text!r}: {exc} (write {{{{ for a literal brace)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"bad placeholder {{{name}}} in {text!r}: use a plain name")
        names.append(name)
    return names


def _check_selector(value: Any, path: KeyPath, problems: Problems) -> None:
    if isinstance(value, str):
        try:
            Selector(value)
        except ValueError as exc:
            problems.append((path, str(exc)))


def _check_field(name: str, spec: Any, problems: Problems) -> None:
    path: KeyPath = ("fields", name)
    if isinstance(spec, str):
        _check_selector(spec, path, problems)
        return
    if not isinstance(spec, dict):
        return
    _check_selector(spec.get("selector"), path + ("selector",), problems)
    item = spec.get("item")
    if isinstance(item, str):
        _check_selector(item, path + ("item",), problems)
    elif isinstance(item, dict):
        for key, selector in item.items():
            _check_selector(selector, path + ("item", key), problems)
    template = spec.get("template")
    if template is not None:
        _check_template(template, path + ("template",), LANDING_PAGE_PLACEHOLDERS, problems)
        if spec.get("selector") is not None:
            problems.append((path, "give either a selector or a template, not both"))
