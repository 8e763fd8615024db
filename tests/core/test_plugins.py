import pytest

from conveyor.core.errors import BadInputError, ConflictError, MissingDependencyError, NotFoundError
from conveyor.core.plugins import Registry, load_object


def test_register_get_and_did_you_mean():
    things = Registry("thing", "conveyor.test_things", field="section.thing")
    things.register("alpha", 1)
    things.register_lazy("beta", "math:pi")
    assert things.get("alpha") == 1
    assert things.get("beta") == pytest.approx(3.14159, rel=1e-5)
    assert things.names() == ["alpha", "beta"]
    with pytest.raises(NotFoundError, match="Did you mean 'alpha'") as info:
        things.get("alpah")
    assert info.value.field == "section.thing"


def test_duplicates_are_refused_unless_replaced():
    things = Registry("thing", "conveyor.test_things")
    things.register("alpha", 1)
    with pytest.raises(ConflictError, match="already registered"):
        things.register("alpha", 2)
    things.register("alpha", 2, replace=True)
    assert things.get("alpha") == 2


def test_lazy_target_that_does_not_import_is_a_clear_error():
    things = Registry("thing", "conveyor.test_things")
    things.register_lazy("ghost", "no_such_module_anywhere:thing")
    things.register_lazy("typo", "math:no_such_attribute")
    with pytest.raises(BadInputError, match="could not be imported"):
        things.get("ghost")
    with pytest.raises(BadInputError, match="does not exist"):
        things.get("typo")


def test_missing_optional_dependency_passes_through(tmp_path, monkeypatch):
    (tmp_path / "needs_extra_plugin.py").write_text(
        "from conveyor.core.dependencies import require\n"
        "THING = require('a_package_that_is_not_installed_xyz', 'ray')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    things = Registry("thing", "conveyor.test_things")
    things.register_lazy("needs_extra", "needs_extra_plugin:THING")
    with pytest.raises(MissingDependencyError, match=r"conveyor-mlops\[ray\]"):
        things.get("needs_extra")


def test_check_runs_once_on_resolution():
    seen = []

    def check(name, value):
        seen.append(name)
        if value == "bad":
            raise BadInputError(f"{name} is bad")

    things = Registry("thing", "conveyor.test_things", check=check)
    things.register_lazy("pi", "math:pi")
    things.get("pi")
    things.get("pi")
    assert seen == ["pi"]


def test_group_must_be_namespaced():
    with pytest.raises(ValueError):
        Registry("thing", "things")


def test_load_object_walks_attributes():
    assert load_object("os.path:join") is __import__("os").path.join


def test_names_keep_registration_order_when_lazy_entries_resolve():
    things = Registry("thing", "conveyor.test_things")
    things.register_lazy("first", "math:pi")
    things.register("second", 2)
    things.register_lazy("third", "math:e")
    things.get("third")  # resolving moves nothing: searches list families in this order, and seeds depend on it
    assert things.names() == ["first", "second", "third"]
