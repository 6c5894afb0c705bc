import connectors.sdk as sdk


def test_sdk_exports_a_sorted_public_surface() -> None:
    assert sdk.__all__ == sorted(sdk.__all__, key=lambda n: (not n.isupper(), n))
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None


def test_error_hierarchy_matches_the_documented_tree() -> None:
    assert issubclass(sdk.ConnectorError, sdk.GatewayError)
    for error in (sdk.SourceUnavailable, sdk.RetriableError, sdk.FatalError, sdk.NotSupported):
        assert issubclass(error, sdk.ConnectorError)


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
