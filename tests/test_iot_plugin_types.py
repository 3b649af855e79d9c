"""The IoT plugin declares its step types by reference with settings models: each model must be exactly the
keyword parameters of its step's function (names and defaults), so that declaring does not change checking."""

from __future__ import annotations

import pytest
from kernel_iot.steps import STEP_TYPES

from kernel.steps import StepType, settings_model


@pytest.mark.parametrize("declared", STEP_TYPES, ids=[t.name for t in STEP_TYPES])
def test_each_settings_model_is_its_functions_keyword_parameters(declared: StepType) -> None:
    model = declared.settings_model  # imported from its reference
    assert model is not None
    derived = settings_model(declared.function)
    ours = {name: (field.is_required(), field.default) for name, field in model.model_fields.items()}
    theirs = {name: (field.is_required(), field.default) for name, field in derived.model_fields.items()}
    assert ours == theirs
    assert model.model_config.get("extra") == "forbid"
    assert declared.loaded().is_loaded
