"""GenerationParams: validation, aliases, presets."""

import pytest
from gptbench.core.errors import ParamError
from gptbench.core.params import PRESETS, GenerationParams


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"temperature": -1}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"top_p": 0}, "top_p"),
        ({"n": 0}, "n"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"logprobs": 21}, "logprobs"),
        ({"frequency_penalty": 3}, "frequency_penalty"),
        ({"do_sample": "maybe"}, "do_sample"),
        ({"stop": ["a", ""]}, "stop"),
        ({"warmth": 1}, "warmth"),
    ],
)
def test_invalid_values_name_the_field(data, field):
    with pytest.raises(ParamError) as err:
        GenerationParams.from_dict(data)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_hugging_face_spellings_are_accepted():
    p = GenerationParams.from_dict(
        {"max_new_tokens": "12", "num_return_sequences": 2, "stop_sequences": "\n", "top_logprobs": 5}
    )
    assert (p.max_tokens, p.n, p.stop, p.logprobs) == (12, 2, ("\n",), 5)


def test_to_dict_round_trips_and_drops_defaults():
    p = GenerationParams(temperature=0.5, stop=("END",), seed=7)
    assert p.to_dict() == {"temperature": 0.5, "stop": ["END"], "seed": 7}
    assert GenerationParams.from_dict(p.to_dict()) == p


def test_sampling_rule():
    assert GenerationParams().sampling
    assert not GenerationParams(temperature=0).sampling
    assert GenerationParams(temperature=0, do_sample=True).sampling
    assert not GenerationParams(temperature=1, do_sample=False).sampling


def test_seed_preset_matches_the_seed_settings():
    b = PRESETS["balanced"]
    assert (b.temperature, b.top_p, b.repetition_penalty, b.do_sample) == (0.8, 0.9, 1.1, True)


def test_new_sessions_start_balanced_only_for_local_models_without_configured_params():
    from gptbench.core.params import session_defaults

    assert session_defaults("local", GenerationParams()) == PRESETS["balanced"]
    assert session_defaults("openai", GenerationParams()) == GenerationParams()
    configured = GenerationParams(temperature=0.2)
    assert session_defaults("local", configured) == configured
