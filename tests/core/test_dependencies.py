import pytest

from conveyor.core.dependencies import available, extra_imports, missing, require
from conveyor.core.errors import ConveyorError, MissingDependencyError


def test_require_returns_the_module():
    assert require("json", "train").dumps([1]) == "[1]"


def test_missing_package_names_the_extra():
    with pytest.raises(MissingDependencyError) as info:
        require("surely_not_installed_pkg.sub", "serve")
    error = info.value
    assert isinstance(error, ConveyorError) and isinstance(error, ImportError)
    assert "pip install 'conveyor-mlops[serve]'" in str(error)
    assert error.extra == "serve" and error.exit_code == 2 and error.http_status == 501


def test_available_does_not_import():
    assert available("json")
    assert not available("surely_not_installed_pkg")


def test_extra_imports_names_the_extra_and_the_distribution():
    with pytest.raises(MissingDependencyError) as info, extra_imports("monitor"):
        import surely_not_installed_pkg  # noqa: F401
    assert "pip install 'conveyor-mlops[monitor]'" in str(info.value)
    assert info.value.module == "surely_not_installed_pkg"
    assert "'scikit-learn'" in str(missing("sklearn.ensemble", "train"))


def test_extra_imports_lets_a_broken_install_through():
    # an ImportError from inside an installed package is not a missing extra: installing it again would not help
    with pytest.raises(ModuleNotFoundError) as info, extra_imports("train"):
        raise ModuleNotFoundError("No module named 'json.nope'", name="json.nope")
    assert not isinstance(info.value, MissingDependencyError)
