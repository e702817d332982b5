"""Settings: TOML file, environment overrides, clear errors, secrets kept out of repr."""

import pytest
from gptbench.core.config import config_path, load_settings
from gptbench.core.errors import ConfigError
from gptbench.tui.cli import main


def write_config(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_file_then_environment(tmp_path):
    path = write_config(
        tmp_path,
        'backend = "openai"\nmodel = "gpt-4o"\n[params]\ntemperature = 0.3\nmax_new_tokens = 64\n'
        '[openai]\napi_key = "sk-from-file"\ntimeout = 5\n[keymap]\n"chat.send" = "ctrl+j"\n',
    )
    s = load_settings(
        path, env={"GPTBENCH_MODEL": "gpt-4.1-mini", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    )
    assert (s.backend, s.default_model) == ("openai", "gpt-4.1-mini")
    assert (s.params.temperature, s.params.max_tokens) == (0.3, 64)
    assert s.openai.api_key == "sk-from-file" and s.openai.timeout == 5.0
    assert s.openai.base_url == "http://127.0.0.1:9/v1"
    assert s.keymap == {"chat.send": "ctrl+j"}
    assert "sk-from-file" not in repr(s)


def test_local_engine_from_file_and_environment(tmp_path):
    from gptbench.core.backends import make_backend

    path = write_config(tmp_path, '[local]\nengine = "transformers"\ndtype = "float32"\n')
    settings = load_settings(path, env={})
    backend = make_backend(settings)
    assert (backend.engine, backend.dtype) == ("transformers", "float32")  # not loaded: the request
    assert load_settings(path, env={"GPTBENCH_ENGINE": "auto"}).local.engine == "auto"
    with pytest.raises(ConfigError, match="local.engine"):
        make_backend(load_settings(path, env={"GPTBENCH_ENGINE": "turbo"}))


def test_environment_key_wins(tmp_path):
    path = write_config(tmp_path, '[openai]\napi_key = "sk-file"\n')
    assert load_settings(path, env={"OPENAI_API_KEY": "sk-env"}).openai.api_key == "sk-env"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("backend = 'gpu'\n", "backend must be"),
        ("[params]\ntemperature = -1\n", "temperature"),
        ("[openai]\ncolour = 1\n", "[openai].colour"),
        ("nonsense = 1\n", "nonsense"),
        ("backend = \n", "config.toml"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, text), env={})
    assert fragment in str(err.value)


def test_config_path_command(isolated_dirs, capsys):
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(isolated_dirs / "config" / "config.toml")
    assert config_path() == isolated_dirs / "config" / "config.toml"


def test_config_show_hides_the_key(monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "sk-secret-value" not in out and "api_key=set" in out


def test_cli_rejects_bad_params_in_one_line(capsys):
    assert main(["chat", "--temperature", "-1", "hi"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "gptbench: error: temperature: must be in [0, 2], got -1"
    assert main(["chat", "--top-p", "2", "hi"]) == 1
    assert "top_p" in capsys.readouterr().err


def test_cli_rejects_empty_prompt(capsys):
    assert main(["chat", "   "]) == 1
    assert "prompt is empty" in capsys.readouterr().err
