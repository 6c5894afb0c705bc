import connectors.sdk as sdk


def test_sdk_exports_a_sorted_public_surface() -> None:
    assert sdk.__all__ == sorted(sdk.__all__, key=lambda n: (not n.isupper(), n))
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None


def test_error_hierarchy_matches_the_documented_tree() -> None:
    assert issubclass(sdk.ConnectorError, sdk.GatewayError)
    for error in (sdk.SourceUnavailable, sdk.RetriableError, sdk.FatalError, sdk.NotSupported):
        assert issubclass(error, sdk.ConnectorError)
    # A caller's rejected query is a 4xx like any other to code that catches FatalError.
    assert issubclass(sdk.QueryRejected, sdk.FatalError)
    assert not issubclass(sdk.QueryRejected, (sdk.RetriableError, sdk.SourceUnavailable))


def test_the_documented_tree_names_every_exported_error() -> None:
    from connectors.sdk import _errors

    tree = _errors.__doc__ or ""
    errors = [n for n in sdk.__all__ if isinstance(getattr(sdk, n), type)]
    errors = [n for n in errors if issubclass(getattr(sdk, n), sdk.GatewayError)]
    assert "QueryRejected" in errors
    for name in errors:
        assert f"── {name}" in tree or tree.lstrip().split("::")[-1].split()[0] == name, name


def test_unknown_connector_names_the_known_ones() -> None:
    try:
        sdk.load_connector("nope")
    except LookupError as exc:
        assert "ckan" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected LookupError")


def test_connector_errors_keep_the_request_without_credentials() -> None:
    import httpx

    request = httpx.Request(
        "GET", "http://127.0.0.1/x", headers={"Authorization": "Bearer s3cret", "Accept": "a/b"}
    )
    error = sdk.FatalError("boom", source_id="s", request=request)
    assert error.request is not None
    assert "s3cret" not in repr(dict(error.request.headers))
    assert error.request.headers["accept"] == "a/b"
