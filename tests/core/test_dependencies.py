import pytest

from conveyor.core.dependencies import available, require
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
