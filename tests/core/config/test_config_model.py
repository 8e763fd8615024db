"""conveyor.yaml as data: every key checked and converted, every mistake one message naming `section.key`, the
bad value and the fix; unknown keys get "did you mean"; moved keys warn and are read at their new home."""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings
from dataclasses import dataclass
from typing import ClassVar

import pytest

from conveyor.core.config import (
    SECTIONS,
    ConfigDeprecationWarning,
    Integer,
    ProjectConfig,
    Section,
    builtin_sections,
    legacy_keys,
    sections,
    setting,
)
from conveyor.core.config.sections.monitor import MonitorSection
from conveyor.core.errors import BadInputError


def test_an_empty_file_gives_every_section_its_defaults():
    config = ProjectConfig.parse({})
    assert config.name is None
    assert set(config.sections) == {"data", "train", "gates", "serve", "environments", "registry", "monitor", "alerts",
                                   "retrain", "security", "features", "retention"}
    assert config.train.budget == 60.0 and config.train.search == "bayesian" and config.train.workers == 1
    assert config.monitor.window == 1000 and config.monitor.resource_interval == 5.0
    assert config.retrain.watch == 86400.0 and config.retrain.rollback.max_drop == 0.05
    assert config.retrain.on == ["drift", "performance", "new_data", "schedule"]
    assert config.data.on_error == "reject" and config.data.sensitive == []
    assert config.gates.rules() == {} and config.serve.options() == {}
    assert config.features.online_store == "sqlite" and config.features.online_url is None
    assert config.section(MonitorSection) is config.monitor


def test_values_are_converted_once():
    config = ProjectConfig.parse({
        "name": "churn",
        "data": {"sensitive": "sex", "target": "y"},
        "train": {"budget": "2m", "feature_selection": {"method": "mutual_info"}},
        "gates": {"beat_champion": None, "min": {"roc_auc": 0.8}},
        "serve": {"reload_interval": "500ms", "max_rows": 10},
        "monitor": {"resource_interval": "1m"},
        "alerts": {"rules": [{"name": "d", "signal": "drift.share", "threshold": 1, "for": "10m", "notify": "log"}]},
        "retrain": {"schedule": "7d", "on": "drift", "budget": 90},
    })
    assert config.name == "churn" and config.data.sensitive == ["sex"]
    assert config.train.budget == 120.0 and config.train.feature_selection.keep == 0.8
    assert config.gates.rules() == {"min": {"roc_auc": 0.8}, "beat_champion": {"margin": 0.0, "alias": "champion"}}
    assert config.serve.options() == {"reload_interval": 0.5, "max_rows": 10}
    assert config.monitor.resource_interval == 60.0
    [rule] = config.alerts.rules
    assert (rule.for_seconds, rule.cooldown, rule.notify, rule.op) == (600.0, 3600.0, ["log"], ">=")
    assert (config.retrain.schedule, config.retrain.on, config.retrain.budget) == (604800.0, ["drift"], 90.0)


BAD_VALUES = [
    ({"train": {"workers": "two"}}, "train.workers", "'two'", "a whole number of at least 1"),
    ({"train": {"workers": 0}}, "train.workers", "0", "a whole number of at least 1"),
    ({"train": {"workers": True}}, "train.workers", "True", "a whole number"),
    ({"train": {"budget": "forever"}}, "train.budget", "'forever'", "a positive duration"),
    ({"train": {"budget": 0}}, "train.budget", "0", "a positive duration"),
    ({"train": {"task": "clasification"}}, "train.task", "'clasification'", "one of auto, classification"),
    ({"train": {"ensemble": "yes please"}}, "train.ensemble", "'yes please'", "true or false"),
    ({"train": {"families": "linear forest"}}, "train.families[0]", "'linear forest'", "a name"),
    ({"train": {"feature_selection": {"keep": 1.5}}}, "train.feature_selection.keep", "1.5", "in (0, 1]"),
    ({"data": {"on_error": "quarantin"}}, "data.on_error", "'quarantin'", "one of reject, quarantine, warn"),
    ({"data": {"sensitive": [1]}}, "data.sensitive[0]", "1", "a column name"),
    ({"gates": {"min": {"roc_auc": "high"}}}, "gates.min.roc_auc", "'high'", "a number"),
    ({"gates": {"min": ["roc_auc"]}}, "gates.min", "['roc_auc']", "a mapping of names"),
    ({"gates": {"max_model_mb": -1}}, "gates.max_model_mb", "-1", "a number greater than 0"),
    ({"serve": {"max_batch_size": 0.5}}, "serve.max_batch_size", "0.5", "a whole number"),
    ({"monitor": {"window": 0}}, "monitor.window", "0", "a whole number of at least 1"),
    ({"monitor": {"thresholds": {"psi": 0}}}, "monitor.thresholds.psi", "0", "a number greater than 0"),
    ({"monitor": 5}, "monitor", "5", "a mapping of settings"),
    ({"alerts": {"rules": [{"signal": "s", "threshold": 1}]}}, "alerts.rules[0].name", "None", "a rule name"),
    ({"alerts": {"rules": [{"name": "r", "signal": "s", "threshold": "high"}]}}, "alerts.rules[0].threshold",
     "'high'", "a number"),
    ({"alerts": {"rules": [{"name": "r", "signal": "s", "threshold": 1, "op": "=~"}]}}, "alerts.rules[0].op",
     "'=~'", "one of >=, >, <=, <"),
    ({"alerts": {"rules": [{"name": "r", "signal": "s", "threshold": 1, "for": "a while"}]}},
     "alerts.rules[0].for", "'a while'", "a duration"),
    ({"alerts": {"rules": [{"name": "r", "signal": "s", "threshold": 1}] * 2}}, "alerts.rules", "['r']",
     "rules with unique names"),
    ({"alerts": {"webhook": {"url": "ftp://x"}}}, "alerts.webhook.url", "'ftp://x'", "a URL starting with http://"),
    ({"retrain": {"on": ["moon"]}}, "retrain.on[0]", "'moon'", "one of drift, performance, new_data, schedule"),
    ({"retrain": {"on": ["drift", "drift"]}}, "retrain.on", "['drift', 'drift']", "a list without repeats"),
    ({"retrain": {"holdout_fraction": 1}}, "retrain.holdout_fraction", "1", "a number in (0, 1)"),
    ({"retrain": {"watch": "soon"}}, "retrain.watch", "'soon'", "a duration"),
    ({"retrain": {"rollback": {"max_drop": -0.1}}}, "retrain.rollback.max_drop", "-0.1", "a number of at least 0"),
    ({"name": "my project"}, "name", "'my project'", "letters, digits"),
    (["not", "a", "mapping"], "conveyor.yaml", "['not', 'a', 'mapping']", "a mapping of sections"),
]


@pytest.mark.parametrize(("raw", "key", "shown", "expected"), BAD_VALUES)
def test_every_bad_value_gets_one_message_naming_the_key_the_value_and_the_fix(raw, key, shown, expected):
    with pytest.raises(BadInputError) as caught:
        ProjectConfig.parse(raw)
    error = caught.value
    assert error.field == key and error.exit_code == 2
    assert re.fullmatch(rf"{re.escape(key)} must be .+, got {re.escape(shown)}\.", error.message), error.message
    assert expected in error.message
    assert (f"Fix {key} in conveyor.yaml" if key != "conveyor.yaml" else "Fix conveyor.yaml") in error.hint


UNKNOWN_KEYS = [
    ({"trian": {}}, "trian", "Did you mean train?"),
    ({"train": {"budjet": "1m"}}, "train.budjet", "Did you mean train.budget?"),
    ({"train": {"feature_selection": {"methd": "l1"}}}, "train.feature_selection.methd",
     "Did you mean train.feature_selection.method?"),
    ({"gates": {"minimum": {"roc_auc": 0.9}}}, "gates.minimum", "Did you mean gates.min?"),
    ({"alerts": {"rules": [{"name": "r", "signal": "s", "threshold": 1, "cooldwn": "1h"}]}},
     "alerts.rules[0].cooldwn", "Did you mean alerts.rules[0].cooldown?"),
    ({"retrain": {"rollback": {"max_dorp": 0.1}}}, "retrain.rollback.max_dorp",
     "Did you mean retrain.rollback.max_drop?"),
    ({"policy": {"windw": 5}}, "policy.windw", "Did you mean policy.window?"),
    ({"monitor": {"zzz": 1}}, "monitor.zzz", "Known keys of monitor: categorical_method, numeric_method"),
]


@pytest.mark.parametrize(("raw", "key", "hint"), UNKNOWN_KEYS)
def test_unknown_keys_get_did_you_mean(raw, key, hint):
    with pytest.raises(BadInputError) as caught:
        ProjectConfig.parse(raw)
    assert caught.value.field == key
    assert caught.value.message == f"Unknown key {key} in conveyor.yaml."
    assert caught.value.hint.startswith(hint)


def test_moved_keys_are_read_at_their_new_home_with_a_warning():
    with pytest.warns(ConfigDeprecationWarning) as warned:
        config = ProjectConfig.parse({"policy": {"model": "w", "window": 300, "triggers": ["drift"],
                                                 "rollback_drop": 0.1, "min_improvement": 0.01, "budget": "2m"},
                                      "train": {"sensitive": ["sex"], "budget": "1m"}})
    notes = [str(w.message) for w in warned]
    assert "conveyor.yaml: policy.window is deprecated; write monitor.window instead (policy.window stops " \
           "working in 0.3)." in notes
    assert any("train.sensitive" in n and "data.sensitive" in n for n in notes) and len(notes) == 7
    assert (config.retrain.model, config.monitor.window, config.retrain.on) == ("w", 300, ["drift"])
    assert (config.retrain.rollback.max_drop, config.retrain.min_improvement) == (0.1, 0.01)
    assert (config.retrain.budget, config.train.budget, config.data.sensitive) == (120.0, 60.0, ["sex"])
    assert config.raw["policy"]["window"] == 300  # the file itself is left as the user wrote it


def test_a_new_key_wins_over_its_old_one():
    with pytest.warns(ConfigDeprecationWarning, match="policy.window is deprecated and ignored, since "
                                                      "monitor.window is set"):
        config = ProjectConfig.parse({"policy": {"window": 5}, "monitor": {"window": 50}})
    assert config.monitor.window == 50


def test_a_moved_key_with_a_bad_value_is_named_at_its_new_home():
    with warnings.catch_warnings(), pytest.raises(BadInputError) as caught:
        warnings.simplefilter("ignore", ConfigDeprecationWarning)
        ProjectConfig.parse({"policy": {"window": 0}})
    assert caught.value.field == "monitor.window"


def test_every_old_key_has_a_new_home_that_exists():
    moved = legacy_keys()
    assert moved["policy.rollback_drop"] == "retrain.rollback.max_drop"
    assert moved["policy.triggers"] == "retrain.on" and moved["train.sensitive"] == "data.sensitive"
    for new in moved.values():
        section, *path = new.split(".")
        value = ProjectConfig.parse({}).sections[section]
        for part in path:
            assert part in dict(value.items()), new
            value = dict(value.items())[part]


def test_with_values_checks_the_whole_file_and_keeps_the_rest():
    config = ProjectConfig.parse({"name": "p", "train": {"budget": "1m"}})
    updated = config.with_values("train", {"workers": 2})
    assert updated.train.workers == 2 and updated.train.budget == 60.0 and updated.raw["train"]["budget"] == "1m"
    with pytest.raises(BadInputError, match=r"train\.workers must be"):
        config.with_values("train", {"workers": -1})
    assert config.train.workers == 1  # unchanged


def test_each_module_of_sections_is_one_section_named_like_it():
    modules = sorted(m.name for m in pkgutil.iter_modules(sections.__path__) if not m.name.startswith("_"))
    assert modules == sorted(s.section for s in builtin_sections())
    for name in modules:
        section = importlib.import_module(f"conveyor.core.config.sections.{name}").SECTION
        assert issubclass(section, Section) and section.section == name and section.__doc__
        for spec in section.specs():
            assert spec.doc and spec.constraint.describe(), f"{name}.{spec.key} is undocumented"


def test_a_section_is_added_without_touching_the_others():
    @dataclass(frozen=True, kw_only=True)
    class PagerSection(Section):
        """A plug-in's settings."""

        section: ClassVar[str] = "pager"
        retries: int = setting(3, Integer(min=0), doc="How often to retry.")

    SECTIONS.register("pager", PagerSection)
    try:
        config = ProjectConfig.parse({"pager": {"retries": 5}})
        assert config.pager.retries == 5
        with pytest.raises(BadInputError, match=r"pager\.retries must be a whole number of at least 0, got -1"):
            ProjectConfig.parse({"pager": {"retries": -1}})
    finally:
        SECTIONS.unregister("pager")
    with pytest.raises(BadInputError, match="Unknown key pager"):
        ProjectConfig.parse({"pager": {"retries": 5}})


def test_the_monitor_section_gives_the_drift_policy_its_arguments():
    config = ProjectConfig.parse({"monitor": {"numeric_method": "psi", "thresholds": {"psi": 0.25}}})
    assert config.monitor.drift_policy() == {"numeric_method": "psi", "categorical_method": "auto",
                                             "thresholds": {"psi": 0.25}}
