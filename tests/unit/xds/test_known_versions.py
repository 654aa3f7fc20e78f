"""The translator's route configuration versions: found from the digests of their parts,
taken by the xDS cache instead of hashing megabytes; they follow the content."""

from __future__ import annotations

from legation.compile.compiler import CompileCache, CompileOptions, compile_config
from legation.envoy.translator import Translator, translate
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.xds.cache import XdsCache


def _mapping(i: int, prefix: str) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": f"m{i}"},
        "spec": {"prefix": prefix, "service": f"svc{i % 3}:80"},
    }
    return RawObject(doc=doc, source=Source(f"m{i}.yaml", 1))


def test_warm_versions_equal_fresh_ones_and_follow_changes() -> None:
    """Warm and fresh translations give the same version; a changed route, another."""
    objects = [_mapping(i, f"/p{i}/") for i in range(100)]  # enough for a matcher tree
    cache, translator = CompileCache(), Translator()
    seen = set()
    for step in range(4):
        objects[step * 7] = _mapping(step * 7, f"/changed-{step}/")
        warm = translator.translate(compile_config(objects, CompileOptions(), cache).gateway)
        fresh = translate(compile_config(objects).gateway)
        assert warm.route_versions == fresh.route_versions
        assert warm.to_data() == fresh.to_data()
        seen.add(warm.route_versions["http-8080"])
    assert len(seen) == 4


def test_cache_takes_known_versions_and_the_any_as_given() -> None:
    """A known version is used as is: the entry holds the translator's own Any."""
    resources = translate(compile_config([_mapping(1, "/a/")]).gateway)
    by_url = resources.by_type_url()
    cache = XdsCache()
    cache.set_resources(by_url)
    (url,) = by_url.versions
    entry = cache.snapshot().get(url).entries["http-8080"]
    assert entry.version == resources.route_versions["http-8080"]
    assert entry.any is by_url[url]["http-8080"]
    version = cache.version
    assert (
        cache.set_resources(translate(compile_config([_mapping(1, "/a/")]).gateway).by_type_url())
        == version
    )
